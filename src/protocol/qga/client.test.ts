import assert from "node:assert/strict";
import { test } from "node:test";
import { TimeoutError } from "../../shared/errors.ts";
import { LibvirtError } from "../libvirt/errors.ts";
import { NO_ERROR_DETAILS } from "../libvirt/testing/mock-libvirtd.ts";
import { execResult, QgaClient } from "./client.ts";
import { QgaCommands } from "./commands.ts";
import { QgaCommandError, QgaProtocolError, QgaUnavailableError } from "./errors.ts";
import { fromLibvirt, QgaLibvirtTransport } from "./libvirt-transport.ts";
import type { QgaTransport } from "./transport.ts";

/** A transport answering from a script: (execute, args) → reply line. Records the order of requests. */
function scripted(answer: (execute: string, args: object | undefined) => string | Promise<string>) {
  const log: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const transport: QgaTransport = {
    description: "script",
    async request(execute, args) {
      log.push(execute);
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      try {
        await new Promise((r) => setImmediate(r));
        return await answer(execute, args);
      } finally {
        inFlight--;
      }
    },
    close: async () => undefined,
  };
  return { transport, log, maxInFlight: () => maxInFlight };
}

test("calls are serial (the agent is), and each reply is validated against its command's schema", async () => {
  const s = scripted((execute) =>
    execute === "guest-get-time" ? '{"return": 1795657841747071000}' : '{"return": {"host-name": "vm"}}',
  );
  const c = new QgaClient(s.transport);
  const [t, h] = await Promise.all([
    c.call(QgaCommands.time, undefined),
    c.call(QgaCommands.hostName, undefined),
  ]);
  assert.equal(t, 1795657841747071000n);
  assert.deepEqual(h, { "host-name": "vm" });
  assert.equal(s.maxInFlight(), 1);
});

test("a reply of the wrong shape or over a cap is a QgaProtocolError naming the command and the path", async () => {
  const replies = [
    '{"return": {"version": 7}}',
    `{"return": {"version": "${"x".repeat(5000)}", "supported_commands": []}}`,
    `{"return": [${Array(5000).fill('{"name":"a","mountpoint":"/","type":"ext4","disk":[]}').join(",")}]}`,
  ];
  let i = 0;
  const c = new QgaClient(scripted(() => replies[i++]!).transport);
  await assert.rejects(
    c.info(),
    (e) => e instanceof QgaProtocolError && e.command === "guest-info" && /version/.test(e.message),
  );
  await assert.rejects(c.info(), QgaProtocolError);
  await assert.rejects(c.call(QgaCommands.fsInfo, undefined), QgaProtocolError);
  // A failed call does not block the queue.
  const ok = new QgaClient(scripted(() => '{"return": {}}').transport);
  await ok.ping();
});

test("exec polls guest-exec-status until exit and decodes output; a program that never exits times out", async () => {
  let polls = 0;
  const s = scripted((execute, args) => {
    if (execute === "guest-exec") {
      assert.deepEqual(args, {
        path: "/bin/echo",
        arg: ["a", "b"],
        "capture-output": true,
        "input-data": "aW4=",
      });
      return '{"return": {"pid": 42}}';
    }
    polls++;
    return polls < 3
      ? '{"return": {"exited": false}}'
      : `{"return": {"exited": true, "exitcode": 0, "out-data": "${Buffer.from("a b\n").toString("base64")}"}}`;
  });
  const r = await new QgaClient(s.transport).exec(["/bin/echo", "a", "b"], { input: "in" });
  assert.deepEqual(r, { exitcode: 0, stdout: "a b\n", stderr: "" });
  assert.equal(polls, 3);

  const never = scripted((execute) =>
    execute === "guest-exec" ? '{"return": {"pid": 1}}' : '{"return": {"exited": false}}',
  );
  await assert.rejects(
    new QgaClient(never.transport).exec(["/bin/sleep", "99"], { timeoutMs: 100 }),
    TimeoutError,
  );
  assert.deepEqual(execResult({ exited: true, signal: 9 }), {
    exitcode: 137,
    signal: 9,
    stdout: "",
    stderr: "",
  });
});

test("readFile reads in chunks, closes the handle, and refuses files over maxBytes", async () => {
  const data = Buffer.from("0123456789");
  let offset = 0;
  const s = scripted((execute, args) => {
    if (execute === "guest-file-open") return '{"return": 1000}';
    if (execute === "guest-file-close") return '{"return": {}}';
    const count = (args as { count: number }).count;
    const chunk = data.subarray(offset, offset + count);
    offset += chunk.length;
    return JSON.stringify({
      return: { count: chunk.length, "buf-b64": chunk.toString("base64"), eof: offset >= data.length },
    });
  });
  const c = new QgaClient(s.transport);
  assert.equal((await c.readFile("/proc/x", { chunkBytes: 4 })).toString(), "0123456789");
  assert.deepEqual(s.log, [
    "guest-file-open",
    "guest-file-read",
    "guest-file-read",
    "guest-file-read",
    "guest-file-close",
  ]);
  offset = 0;
  await assert.rejects(c.readFile("/proc/x", { maxBytes: 5, chunkBytes: 4 }), QgaProtocolError);
  assert.equal(s.log.at(-1), "guest-file-close");
});

const libvirtError = (code: number, message: string) =>
  new LibvirtError({ ...NO_ERROR_DETAILS, domain: 10, code, message });

test("libvirt transport: agent unavailable and agent error replies map to qga errors, the cause kept", async () => {
  const dom = { name: "vm", uuid: "00000000-0000-0000-0000-000000000001", id: 1 };
  const sent: [string, number | undefined][] = [];
  let fail: LibvirtError | null = null;
  const t = new QgaLibvirtTransport(
    {
      async qemuAgentCommand(_dom, cmd, timeoutSec) {
        sent.push([cmd, timeoutSec]);
        if (fail) throw fail;
        return '{"return":{}}';
      },
    },
    dom,
  );
  const c = new QgaClient(t, { timeoutMs: 2500 });
  await c.ping();
  assert.deepEqual(sent, [['{"execute":"guest-ping"}', 3]]);
  fail = libvirtError(86, "Guest agent is not responding: QEMU guest agent is not connected");
  await assert.rejects(c.ping(), (e) => e instanceof QgaUnavailableError && e.cause === fail);
  fail = libvirtError(
    1,
    "internal error: unable to execute QEMU agent command 'guest-nope': The command guest-nope has not been found",
  );
  await assert.rejects(
    c.ping(),
    (e) =>
      e instanceof QgaCommandError &&
      e.desc === "The command guest-nope has not been found" &&
      e.agentClass === undefined,
  );
  // Other libvirt errors (e.g. a read-only connection) stay what they are.
  const denied = libvirtError(29, "operation forbidden: read only access prevents virDomainQemuAgentCommand");
  assert.equal(fromLibvirt(denied, "guest-ping", "vm"), denied);
});

test("execResult marks output the agent cut, and only then", () => {
  assert.deepEqual(execResult({ exited: true, exitcode: 0, "out-data": "", "out-truncated": true }), {
    exitcode: 0,
    stdout: "",
    stderr: "",
    truncated: true,
  });
  assert.equal("truncated" in execResult({ exited: true, exitcode: 0, "err-truncated": false }), false);
});
