/**
 * A hostile guest agent for tests, as its own process: `node test/fake-qga.ts <socket> <mode>` listens on a unix
 * socket and speaks qemu-ga's line protocol (0xFF + guest-sync-delimited resync, guest-info listing a few
 * read commands, well-formed answers to them) except where `mode` says it misbehaves:
 * - garbage: every answer but the resync is random bytes (guest-info included);
 * - endless: after guest-info, the first other command gets an endless line with no newline (1 MiB per 50 ms
 *   until the connection closes);
 * - huge: guest-get-fsinfo answers a valid 100 MB line;
 * - many: guest-get-fsinfo answers 10 000 filesystems;
 * - utf8: host name and OS name with invalid UTF-8;
 * - labels: 300 filesystems, interfaces and a host name made of quotes, backslashes, newlines and braces;
 * - silent: reads everything and never answers anything, resync included.
 */
import { randomBytes } from "node:crypto";
import { createServer, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

const [path, mode] = process.argv.slice(2);
if (!path || !mode) throw new Error("usage: fake-qga.ts <socket> <mode>");

const COMMANDS = [
  "guest-get-users",
  "guest-get-osinfo",
  "guest-get-host-name",
  "guest-get-timezone",
  "guest-network-get-interfaces",
  "guest-get-vcpus",
  "guest-get-time",
  "guest-get-fsinfo",
];
const EVIL = 'q"uote\\back\nnew{line="1"}';

const line = (v: unknown) => Buffer.from(`${JSON.stringify({ return: v })}\n`);
/** A reply line from raw JSON text pieces and bytes (for what JSON.stringify cannot write: invalid UTF-8). */
const rawLine = (...parts: (string | Buffer)[]) =>
  Buffer.concat([...parts.map((p) => (typeof p === "string" ? Buffer.from(p) : p)), Buffer.from("\n")]);

function fs(n: number, name: (i: number) => string) {
  return Array.from({ length: n }, (_, i) => ({
    name: `vd${i}`,
    mountpoint: name(i),
    type: "ext4",
    "used-bytes": 1000 + i,
    "total-bytes": 100000,
    disk: [],
  }));
}

function normal(execute: string): Buffer {
  switch (execute) {
    case "guest-info":
      return line({
        version: "0.0-fake",
        supported_commands: COMMANDS.map((name) => ({ name, enabled: true, "success-response": true })),
      });
    case "guest-get-users":
      return line([]);
    case "guest-get-osinfo":
      return line({ id: "fake", name: `fake ${mode}` });
    case "guest-get-host-name":
      return line({ "host-name": `fake-${mode}` });
    case "guest-get-timezone":
      return line({ zone: "UTC", offset: 0 });
    case "guest-network-get-interfaces":
      return line([{ name: "eth0", "hardware-address": "52:54:00:00:00:99", "ip-addresses": [] }]);
    case "guest-get-vcpus":
      return line([{ "logical-id": 0, online: true }]);
    case "guest-get-time":
      return rawLine(`{"return": ${BigInt(Date.now()) * 1_000_000n}}`);
    case "guest-get-fsinfo":
      return line(fs(1, () => "/"));
    default:
      return Buffer.from(`{"error": {"class": "CommandNotFound", "desc": "no ${execute}"}}\n`);
  }
}

function drainedOrClosed(sock: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      sock.off("drain", done);
      sock.off("close", done);
      resolve();
    };
    sock.on("drain", done);
    sock.on("close", done);
  });
}

/** Writes `n` bytes of `byte` (no newline) in 1 MiB chunks, waiting for the reader; false once closed. */
async function stream(sock: Socket, n: number, byte: string, pauseMs = 0): Promise<boolean> {
  const chunk = Buffer.alloc(1 << 20, byte);
  for (let sent = 0; sent < n; sent += chunk.length) {
    if (sock.destroyed) return false;
    if (!sock.write(chunk)) await drainedOrClosed(sock);
    if (pauseMs) await sleep(pauseMs);
  }
  return !sock.destroyed;
}

/** Writes the answer to one request in this mode (none at all in some). */
async function answer(sock: Socket, execute: string, state: { streaming: boolean }): Promise<void> {
  switch (mode) {
    case "garbage":
      sock.write(
        Buffer.concat([
          randomBytes(200).map((b) => (b === 0xff || b === 0x0a ? 0x20 : b)),
          Buffer.from("\n"),
        ]),
      );
      return;
    case "endless":
      if (execute === "guest-info") break;
      if (!state.streaming) {
        state.streaming = true;
        await stream(sock, Number.POSITIVE_INFINITY, "a", 50);
      }
      return;
    case "huge":
      if (execute !== "guest-get-fsinfo") break;
      sock.write('{"return": [{"name": "vda", "mountpoint": "/", "type": "');
      if (await stream(sock, 100e6, "x")) sock.write('", "disk": []}]}\n');
      return;
    case "many":
      if (execute !== "guest-get-fsinfo") break;
      sock.write(line(fs(10_000, (i) => `/mnt/fake${i}`)));
      return;
    case "utf8": {
      const bad = Buffer.from([0xc3, 0x28, 0xed, 0xa0, 0x80, 0xc0, 0xaf]); // no 0xFF: that is the delimiter
      if (execute === "guest-get-host-name") sock.write(rawLine('{"return": {"host-name": "h', bad, '"}}'));
      else if (execute === "guest-get-osinfo") sock.write(rawLine('{"return": {"id": "x', bad, '"}}'));
      else break;
      return;
    }
    case "labels":
      if (execute === "guest-get-fsinfo") sock.write(line(fs(300, (i) => `/${EVIL}${i}`)));
      else if (execute === "guest-get-host-name") sock.write(line({ "host-name": EVIL }));
      else if (execute === "guest-network-get-interfaces")
        sock.write(
          line([
            {
              name: EVIL,
              "hardware-address": EVIL,
              "ip-addresses": [{ "ip-address-type": "ipv6", "ip-address": EVIL, prefix: 64 }],
            },
          ]),
        );
      else break;
      return;
    case "silent":
      return;
  }
  sock.write(normal(execute));
}

/**
 * Requests as qemu-ga reads them: JSON objects delimited by their braces (clients send no newline); a 0xFF
 * drops a half-read one. Calls `onRequest` with each complete object's text.
 */
function requestSplitter(onRequest: (text: string) => void): (chunk: Buffer) => void {
  let text = "";
  let depth = 0;
  let inString = false;
  let escaped = false;
  return (chunk) => {
    for (const ch of chunk.toString("latin1")) {
      if (ch === "\xff") {
        [text, depth, inString, escaped] = ["", 0, false, false];
        continue;
      }
      if (depth === 0 && ch !== "{") continue;
      text += ch;
      if (text.length > 1 << 20) [text, depth, inString, escaped] = ["", 0, false, false];
      else if (inString) {
        if (escaped) escaped = false;
        else if (ch === "\\") escaped = true;
        else if (ch === '"') inString = false;
      } else if (ch === '"') inString = true;
      else if (ch === "{") depth++;
      else if (ch === "}" && --depth === 0) {
        onRequest(text);
        text = "";
      }
    }
  };
}

function serve(sock: Socket): void {
  sock.on("error", () => {});
  const state = { streaming: false };
  let queue = Promise.resolve();
  const onRequest = (text: string) => {
    let req: { execute?: string; arguments?: { id?: number } };
    try {
      req = JSON.parse(text) as typeof req;
    } catch {
      return;
    }
    if (mode === "silent") return;
    const execute = String(req.execute);
    queue = queue.then(async () => {
      if (sock.destroyed) return; // the client gave up (timeout, test over)
      if (execute === "guest-sync-delimited")
        sock.write(Buffer.concat([Buffer.from([0xff]), line(req.arguments?.id ?? 0)]));
      else await answer(sock, execute, state);
    });
  };
  sock.on("data", requestSplitter(onRequest));
}

createServer(serve).listen(path);
