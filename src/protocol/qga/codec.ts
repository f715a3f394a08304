/**
 * The guest agent's wire format, pure (no I/O): QMP-style JSON requests, one JSON reply per line, and the
 * `guest-sync-delimited` resynchronisation. Facts (qemu-ga 7.2, checked against a real agent on this host):
 * - a request is `{"execute": name, "arguments": {...}}`; the agent reads a stream, no newline needed;
 * - every reply is one line, `{"return": ...}` or `{"error": {"class", "desc"}}`;
 * - a 0xFF byte from the client makes the agent drop any half-read request (it answers that with a
 *   "JSON parse error, stray ..." reply, which the resync discards); the agent writes 0xFF right before its
 *   reply to guest-sync-delimited, so the reader drops everything up to it and then waits for `{"return": id}`.
 */
import { QgaCommandError, QgaProtocolError } from "./errors.ts";
import { type JsonValue, parseJson } from "./json.ts";

/** The byte the agent sends before a guest-sync-delimited reply, and the client before the request. */
export const SYNC_DELIMITER = 0xff;

/**
 * Default cap on one reply line, libvirt's own cap on agent replies (10 MiB). Enough for every monitoring
 * command; guest-exec output near qemu-ga's 16 MiB per stream needs a larger `maxLineBytes`.
 */
export const DEFAULT_MAX_LINE_BYTES = 10 * 1024 * 1024;

/** One request as bytes. `args` undefined: no "arguments" member (the agent rejects `null`). */
export function encodeCommand(execute: string, args?: object): Buffer {
  return Buffer.from(JSON.stringify(args === undefined ? { execute } : { execute, arguments: args }));
}

/** 0xFF, then guest-sync-delimited with `id`: makes the agent drop half-read input and answer `id`. */
export function encodeSync(id: number): Buffer {
  return Buffer.concat([Buffer.of(SYNC_DELIMITER), encodeCommand("guest-sync-delimited", { id })]);
}

/** A random sync id below 2^53, so it round-trips through JSON numbers exactly. */
export function randomSyncId(): number {
  return Math.floor(Math.random() * Number.MAX_SAFE_INTEGER);
}

/**
 * One reply line to its `return` value (integers beyond 2^53 as bigint). An error reply throws
 * QgaCommandError with the agent's class and description; anything else that is not a reply throws
 * QgaProtocolError.
 */
export function decodeReply(line: string, command: string): JsonValue {
  let reply: JsonValue;
  try {
    reply = parseJson(line);
  } catch (e) {
    throw new QgaProtocolError(`unparsable reply (${(e as Error).message}): ${preview(line)}`, {
      command,
      cause: e,
    });
  }
  if (typeof reply !== "object" || reply === null || Array.isArray(reply))
    throw new QgaProtocolError(`reply is not an object: ${preview(line)}`, { command });
  if ("error" in reply) {
    const err = reply.error;
    const fields = typeof err === "object" && err !== null && !Array.isArray(err) ? err : {};
    const desc = typeof fields.desc === "string" ? fields.desc : preview(line);
    const agentClass = typeof fields.class === "string" ? fields.class : undefined;
    throw new QgaCommandError(command, desc, { agentClass });
  }
  if (!("return" in reply))
    throw new QgaProtocolError(`reply without "return": ${preview(line)}`, { command });
  return reply.return as JsonValue;
}

/** At most 200 characters of untrusted text, for messages. */
export function preview(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}

export type Frame =
  /** One complete reply line (valid UTF-8, not yet parsed). */
  | { type: "line"; text: string }
  /** A 0xFF from the agent: whatever came before it is gone; a guest-sync-delimited reply follows. */
  | { type: "delimiter" }
  /** A line that was too long or not UTF-8; its bytes were discarded, reading goes on with the next line. */
  | { type: "error"; error: QgaProtocolError };

const NEWLINE = 0x0a;

/**
 * Splits the agent's byte stream into frames. Memory is bounded by `maxLineBytes` whatever the agent sends:
 * a longer line is reported once and skipped up to its newline (or the next 0xFF), never buffered. After
 * `awaitDelimiter()` every byte up to the next 0xFF is dropped (the start of a resync).
 */
export class LineReader {
  private readonly maxLineBytes: number;
  private parts: Buffer[] = [];
  private size = 0;
  /** Skipping the rest of an over-long line. */
  private skippingLine = false;
  /** Dropping everything up to the next 0xFF. */
  private awaitingDelimiter = false;
  private readonly utf8 = new TextDecoder("utf-8", { fatal: true });

  constructor(maxLineBytes = DEFAULT_MAX_LINE_BYTES) {
    this.maxLineBytes = maxLineBytes;
  }

  /** Drops buffered input and everything that arrives before the next 0xFF. */
  awaitDelimiter(): void {
    this.reset();
    this.awaitingDelimiter = true;
  }

  push(chunk: Buffer): Frame[] {
    const frames: Frame[] = [];
    let pos = 0;
    while (pos < chunk.length) {
      const delimiter = chunk.indexOf(SYNC_DELIMITER, pos);
      if (this.awaitingDelimiter) {
        if (delimiter < 0) return frames;
        this.awaitingDelimiter = false;
        frames.push({ type: "delimiter" });
        pos = delimiter + 1;
        continue;
      }
      const newline = chunk.indexOf(NEWLINE, pos);
      const end = newline >= 0 && (delimiter < 0 || newline < delimiter) ? newline : delimiter;
      if (end < 0) {
        this.append(chunk.subarray(pos), frames);
        return frames;
      }
      this.append(chunk.subarray(pos, end), frames);
      if (end === delimiter) {
        this.reset();
        frames.push({ type: "delimiter" });
      } else {
        this.finishLine(frames);
      }
      pos = end + 1;
    }
    return frames;
  }

  private append(bytes: Buffer, frames: Frame[]): void {
    if (this.skippingLine || bytes.length === 0) return;
    if (this.size + bytes.length > this.maxLineBytes) {
      frames.push({
        type: "error",
        error: new QgaProtocolError(`reply line longer than ${this.maxLineBytes} bytes, discarded`),
      });
      this.reset();
      this.skippingLine = true;
      return;
    }
    this.parts.push(bytes);
    this.size += bytes.length;
  }

  private finishLine(frames: Frame[]): void {
    const skipped = this.skippingLine;
    const bytes = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.size);
    this.reset();
    if (skipped || bytes.length === 0) return;
    let text: string;
    try {
      text = this.utf8.decode(bytes);
    } catch (e) {
      frames.push({ type: "error", error: new QgaProtocolError("reply is not valid UTF-8", { cause: e }) });
      return;
    }
    if (text.trim() !== "") frames.push({ type: "line", text });
  }

  private reset(): void {
    this.parts = [];
    this.size = 0;
    this.skippingLine = false;
  }
}
