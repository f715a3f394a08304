/**
 * The control API through a whole agent (startAgent: config, libvirt source, guest view, HTTP on an ephemeral
 * port) on kvmon-lab-1's real guest agent: commands in the guest (output, exit codes, stdin, stderr, a timeout
 * with the program killed, truncation), the passthrough (guest-ping, guest-info against virsh's answer), the
 * 401/403 paths, and the audit file's records.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { loadConfig } from "../../src/agent/config.ts";
import type { AuditRecord } from "../../src/agent/control/audit.ts";
import type { GuestExecResult } from "../../src/model/control.ts";
import type { RunningAgent } from "../../src/agent/server.ts";
import { startTestAgent, SYSTEM_URI } from "../agent-helpers.ts";
import { labGuests } from "../lab.ts";
import { virsh } from "../libvirt-helpers.ts";

const guest = labGuests[0]!;
const TOKEN = "kvmon-control-test-token-0123456789";

let dir: string;
let auditPath: string;
const running: RunningAgent[] = [];

async function agentWith(env: Record<string, string>): Promise<string> {
  const config = loadConfig({
    flags: { listen: "127.0.0.1:0", interval: "10", "audit-log": auditPath },
    env: { KVMON_URI: SYSTEM_URI, ...env },
  });
  const agent = await startTestAgent(config);
  running.push(agent.running);
  return agent.base;
}

let base: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "kvmon-control-it-"));
  auditPath = join(dir, "audit", "audit.log");
  base = await agentWith({
    KVMON_CONTROL_TOKEN: TOKEN,
    KVMON_GUEST: "true",
    KVMON_GUEST_EXEC: "true",
    KVMON_GUEST_PASSTHROUGH: "true",
  });
});

after(async () => {
  for (const r of running) await r.stop();
  await rm(dir, { recursive: true, force: true });
});

function post(path: string, body: unknown, token: string | null = TOKEN): Promise<Response> {
  return fetch(`${base}/api/v1/domains/${guest}/${path}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify(body),
  });
}

async function exec(body: Record<string, unknown>): Promise<GuestExecResult> {
  const res = await post("exec", body);
  const json = (await res.json()) as GuestExecResult;
  assert.equal(res.status, 200, JSON.stringify(json));
  return json;
}

describe("control API on the lab", () => {
  test("echo: stdout as text and base64, exit code 0", async () => {
    const r = await exec({ path: "/bin/echo", args: ["hello", "guest"] });
    assert.equal(r.exitCode, 0);
    assert.equal(r.stdout.text, "hello guest\n");
    assert.equal(Buffer.from(r.stdout.base64, "base64").toString(), "hello guest\n");
    assert.equal(r.stderr.bytes, 0);
    assert.equal(r.truncated, false);
    assert.equal(r.timedOut, false);
  });

  test("exit code and stderr of the guest program come back as they are", async () => {
    const r = await exec({ path: "/bin/sh", args: ["-c", "echo to-err >&2; exit 7"] });
    assert.equal(r.exitCode, 7);
    assert.equal(r.signal, null);
    assert.equal(r.stderr.text, "to-err\n");
    assert.equal(r.stdout.text, "");
  });

  test("stdin: text and base64 (binary) input reach the program", async () => {
    assert.equal(
      (await exec({ path: "/bin/cat", input: "line 1\nline 2\n" })).stdout.text,
      "line 1\nline 2\n",
    );
    const bytes = Buffer.from([0, 1, 2, 0xff, 0xfe, 10]);
    const r = await exec({ path: "/bin/cat", input: bytes.toString("base64"), inputEncoding: "base64" });
    assert.deepEqual(Buffer.from(r.stdout.base64, "base64"), bytes);
    assert.equal(r.stdout.text, null); // not valid UTF-8
  });

  test("truncation: output cut at maxOutputBytes and flagged", async () => {
    const r = await exec({ path: "/bin/sh", args: ["-c", "yes | head -c 5000"], maxOutputBytes: 100 });
    assert.equal(r.exitCode, 0);
    assert.equal(r.truncated, true);
    assert.equal(r.stdout.bytes, 100);
    assert.equal(r.stdout.text, "y\n".repeat(50));
  });

  test("timeout: the program is killed in the guest (a second guest-exec of kill) and reported", async () => {
    const marker = `kvmon-timeout-${process.pid}`;
    const r = await exec({
      path: "/bin/sh",
      args: ["-c", `echo started; exec sleep 300 # ${marker}`],
      timeout: 1,
    });
    assert.equal(r.timedOut, true);
    assert.equal(r.killed, true);
    assert.equal(r.signal, 9);
    assert.equal(r.exitCode, 137);
    assert.equal(r.stdout.text, "started\n");
    assert.ok(r.durationMs >= 1000 && r.durationMs < 10_000, String(r.durationMs));
    // The guest itself no longer runs it.
    const ps = await exec({ path: "/bin/ps", args: ["-o", "pid,args"] });
    assert.ok(!ps.stdout.text!.includes("sleep 300"), ps.stdout.text!);
  });

  test("passthrough: guest-ping, and guest-info as virsh qemu-agent-command answers it", async () => {
    let res = await post("agent-command", { execute: "guest-ping" });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { return: {} });
    res = await post("agent-command", { execute: "guest-info" });
    assert.equal(res.status, 200);
    const ours = (await res.json()) as {
      return: { version: string; supported_commands: { name: string }[] };
    };
    const theirs = JSON.parse(
      await virsh(SYSTEM_URI, "qemu-agent-command", guest, '{"execute":"guest-info"}'),
    ) as {
      return: { version: string; supported_commands: { name: string }[] };
    };
    assert.equal(ours.return.version, theirs.return.version);
    assert.deepEqual(
      ours.return.supported_commands.map((c) => c.name).sort(),
      theirs.return.supported_commands.map((c) => c.name).sort(),
    );
    res = await post("agent-command", { execute: "guest-no-such-command" });
    assert.equal(res.status, 502);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, "QGA_COMMAND_FAILED");
  });

  test("unknown guest: 404 LIBVIRT_NO_DOMAIN", async () => {
    const res = await fetch(`${base}/api/v1/domains/kvmon-no-such-vm/exec`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ path: "/bin/true" }),
    });
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, "LIBVIRT_NO_DOMAIN");
  });

  test("401 without or with a wrong token; 403 CONTROL_DISABLED on an agent without a token", async () => {
    for (const token of [null, "wrong-token-wrong-token"]) {
      const res = await post("exec", { path: "/bin/true" }, token);
      assert.equal(res.status, 401);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, "UNAUTHORIZED");
    }
    const plain = await agentWith({ KVMON_GUEST: "true" });
    const res = await fetch(`${plain}/api/v1/domains/${guest}/exec`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ path: "/bin/true" }),
    });
    assert.equal(res.status, 403);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, "CONTROL_DISABLED");
    // Read endpoints stay open.
    assert.equal((await fetch(`${base}/healthz`)).status === 401, false);
  });

  test("audit file: 0600, one record per control call above, no secret in it", async () => {
    const text = await readFile(auditPath, "utf8");
    assert.equal((await stat(auditPath)).mode & 0o777, 0o600);
    assert.ok(!text.includes(TOKEN));
    const records = text
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as AuditRecord);
    // 1 + 1 + 2 + 1 + 2 (timeout, ps) + 3 + 1 (unknown guest) + 2 (401s) = 13.
    assert.equal(records.length, 13, text);
    assert.ok(records.every((r) => r.from === "127.0.0.1" || r.from === "::ffff:127.0.0.1"));
    const echo = records[0]!;
    assert.equal(echo.action, "exec");
    assert.equal(echo.guest, guest);
    assert.deepEqual(echo.what, { path: "/bin/echo", args: ["hello", "guest"], inputBytes: 0, timeout: 30 });
    assert.equal(echo.outcome, "ok");
    assert.equal(echo.exitCode, 0);
    assert.match(echo.who, /^token:[0-9a-f]{12}$/);
    const timeout = records.find((r) => JSON.stringify(r.what).includes("sleep 300"))!;
    assert.equal(timeout.exitCode, 137);
    assert.ok(timeout.durationMs >= 1000);
    const denied = records.filter((r) => r.outcome === "denied");
    assert.deepEqual(
      denied.map((r) => [r.who, r.code, r.status]),
      [
        ["anonymous", "UNAUTHORIZED", 401],
        ["anonymous", "UNAUTHORIZED", 401],
      ],
    );
    const failed = records.filter((r) => r.outcome === "error").map((r) => r.code);
    assert.deepEqual(failed, ["QGA_COMMAND_FAILED", "LIBVIRT_NO_DOMAIN"]);
  });
});
