/** The one place subcommands are registered. Adding a command: write its module, add it here. */
import type { Command } from "./command.ts";
import { agentCommand } from "./commands/agent.ts";
import { auditCommand } from "./commands/audit.ts";
import { consoleCommand } from "./commands/console.ts";
import { execCommand } from "./commands/exec.ts";
import { labCommand } from "./commands/lab.ts";
import { serverCommand } from "./commands/server.ts";
import { traceCommand } from "./commands/trace.ts";

export const commands: readonly Command[] = [
  agentCommand,
  serverCommand,
  labCommand,
  consoleCommand,
  execCommand,
  traceCommand,
  auditCommand,
];
