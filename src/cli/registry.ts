/** The one place subcommands are registered. Adding a command: write its module, add it here. */
import type { Command } from "./command.ts";
import { agentCommand } from "./commands/agent.ts";
import { auditCommand } from "./commands/audit.ts";
import { labCommand } from "./commands/lab.ts";
import { serverCommand } from "./commands/server.ts";

export const commands: readonly Command[] = [agentCommand, auditCommand, labCommand, serverCommand];
