/**
 * Passthrough of any guest-agent command, custom ones included: `{"execute": name, "arguments": {...}}` sent
 * as is through the guest's channel, the reply's `return` value given back unchanged (64-bit integers exact).
 * guest-sync and guest-sync-delimited are refused: the channel (libvirt, or the socket transport) keeps the
 * stream in sync itself and a stray sync would confuse it.
 */
import { z } from "zod";
import type { JsonValue, QgaCommand } from "../../protocol/qga/index.ts";
import { HttpError } from "../errors.ts";
import type { ExecChannel } from "./guest-exec.ts";

export interface AgentCommand {
  execute: string;
  arguments?: Record<string, unknown>;
}

const SYNC_COMMANDS = new Set(["guest-sync", "guest-sync-delimited"]);

/** Any return value: the codec already parsed it (bounded, exact integers); nothing to check. */
const anyReturn = z.custom<JsonValue>(() => true);

export async function agentCommand(
  channel: ExecChannel,
  cmd: AgentCommand,
  timeoutMs: number,
): Promise<JsonValue> {
  if (SYNC_COMMANDS.has(cmd.execute))
    throw new HttpError(
      400,
      "BAD_REQUEST",
      `${cmd.execute} is not allowed: the channel keeps itself in sync`,
    );
  const command: QgaCommand<object | undefined, JsonValue> = { name: cmd.execute, returns: anyReturn };
  return channel.qga.call(command, cmd.arguments, { timeoutMs });
}

/** JSON text of a reply value; bigints (integers beyond 2^53) are written as the exact integers they are. */
export function stringifyJson(v: JsonValue): string {
  if (typeof v === "bigint") return v.toString();
  if (Array.isArray(v)) return `[${v.map(stringifyJson).join(",")}]`;
  if (v !== null && typeof v === "object")
    return `{${Object.entries(v)
      .map(([k, x]) => `${JSON.stringify(k)}:${stringifyJson(x)}`)
      .join(",")}}`;
  return JSON.stringify(v);
}
