/** The one place subcommands are registered. Adding a command: write its module, add it here. */
import type { Command } from "./command.ts";
import { agentCommand } from "./commands/agent.ts";
import { auditCommand } from "./commands/audit.ts";
import { consoleCommand } from "./commands/console.ts";
import { execCommand } from "./commands/exec.ts";
import { labCommand } from "./commands/lab.ts";
import { quickstartCommand } from "./commands/quickstart.ts";
import { serverCommand } from "./commands/server.ts";
import { shellCommand } from "./commands/shell.ts";
import { topCommand } from "./commands/top.ts";
import { traceCommand } from "./commands/trace.ts";

export const commands: readonly Command[] = [
  agentCommand,
  serverCommand,
  quickstartCommand,
  labCommand,
  topCommand,
  shellCommand,
  consoleCommand,
  execCommand,
  traceCommand,
  auditCommand,
];
