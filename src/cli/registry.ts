/** The one place subcommands are registered. Adding a command: write its module, add it here. */
import type { Command } from "./command.ts";
import { agentCommand } from "./commands/agent.ts";
import { labCommand } from "./commands/lab.ts";
import { shellCommand } from "./commands/shell.ts";
import { topCommand } from "./commands/top.ts";

export const commands: readonly Command[] = [agentCommand, labCommand, topCommand, shellCommand];
