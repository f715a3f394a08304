/**
 * `kvmon exec` (the real binary) on a lab guest's agent, direct (--local, audited by the CLI) and through a
 * whole agent (its control API, audited there): stdout and stderr to the matching streams byte for byte, the
 * guest command's exit code (and 128 + N for a signal), stdin passed through (binary too), --timeout (124,
 * killed in the guest), an unknown VM with its near matches, and the agent's refusals.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { loadConfig } from "../../src/agent/config.ts";
import type { AuditRecord } from "../../src/agent/control/audit.ts";
import type { RunningAgent } from "../../src/agent/server.ts";
import { startTestAgent, SYSTEM_URI } from "../agent-helpers.ts";
import { kvmon, startKvmon } from "../cli-run.ts";
import { labGuests } from "../lab.ts";

const vm = labGuests[0]!;
const TOKEN = "kvmon-cli-exec-test-token-0123456789";
let dir: string;
const agents: RunningAgent[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "kvmon-cli-exec-"));
});

after(async () => {
  for (const a of agents) await a.stop();
  await rm(dir, { recursive: true, force: true });
});

async function records(path: string): Promise<AuditRecord[]> {
  return (await readFile(path, "utf8"))
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as AuditRecord);
}

describe("direct (--local, root)", () => {
  const local = () => ["--local", "--audit-log", join(dir, "audit.log")];

  test("stdout and stderr to their streams, the exit code, audited", async () => {
    const r = await kvmon(["exec", vm, ...local(), "--", "sh", "-c", "echo out; echo err >&2; exit 7"]);
    assert.deepEqual([r.code, r.stdout, r.stderr], [7, "out\n", "err\n"]);
    const last = (await records(join(dir, "audit.log"))).at(-1)!;
    assert.deepEqual(
      [last.action, last.guest, last.who, last.outcome, last.exitCode, last.what.path],
      ["exec", vm, "unix:root", "ok", 7, "sh"],
    );
  });

  test("stdin passed through, binary bytes unchanged both ways", async () => {
    const text = await kvmon(["exec", vm, ...local(), "--", "tr", "a-z", "A-Z"], {}, "hello guest\n");
    assert.deepEqual([text.code, text.stdout], [0, "HELLO GUEST\n"]);
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const k = startKvmon(["exec", vm, ...local(), "--", "cat"], {}, all);
    assert.equal((await k.exit).code, 0, k.stderr());
    assert.deepEqual(k.stdoutBytes(), all);
  });

  test("a signal is 128 + N; --timeout is 124 with the command killed in the guest", async () => {
    const sig = await kvmon(["exec", vm, ...local(), "--", "sh", "-c", "kill -TERM $$"]);
    assert.equal(sig.code, 143);
    const started = performance.now();
    const slow = await kvmon([
      "exec",
      vm,
      ...local(),
      "--timeout",
      "1s",
      "--",
      "sh",
      "-c",
      "echo started; sleep 60",
    ]);
    assert.equal(slow.code, 124);
    assert.ok(performance.now() - started < 15_000, "did not wait for the sleep");
    assert.equal(slow.stdout, "started\n", "the output so far");
    assert.match(slow.stderr, /\[TIMEOUT\] 'sh -c echo started; sleep 60' in .* still ran after 1s; killed/);
  });

  test("Ctrl-C (SIGINT) while it runs: exit 130, and the use is still audited", async () => {
    const k = startKvmon(["exec", vm, ...local(), "--", "sh", "-c", "echo started >&2; sleep 10"]);
    await sleep(4000); // started and waiting (the guest agent shows nothing before the end)
    k.child.kill("SIGINT");
    assert.equal((await k.exit).code, 130, k.stderr());
    assert.match(k.stderr(), /\[INTERRUPTED\] interrupted by SIGINT while the command ran; it may still run/);
    const last = (await records(join(dir, "audit.log"))).at(-1)!;
    assert.deepEqual(
      [last.what.args, last.outcome, last.code],
      [["-c", "echo started >&2; sleep 10"], "error", "INTERRUPTED"],
    );
  });

  test("an unknown VM names the near ones", async () => {
    const r = await kvmon(["exec", `${vm}0`, ...local(), "--", "true"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`\\[LIBVIRT_NO_DOMAIN\\] no VM named '${vm}0'; did you mean '${vm}'`));
  });
});

describe("through the agent's control API", () => {
  let base: string;
  before(async () => {
    const config = loadConfig({
      flags: { listen: "127.0.0.1:0", interval: "10", "audit-log": join(dir, "agent-audit.log") },
      env: {
        KVMON_URI: SYSTEM_URI,
        KVMON_CONTROL_TOKEN: TOKEN,
        KVMON_GUEST: "true",
        KVMON_GUEST_EXEC: "true",
      },
    });
    const agent = await startTestAgent(config);
    agents.push(agent.running);
    base = agent.base;
  });

  test("exit code, both streams and stdin; the agent audits the call", async () => {
    const r = await kvmon(
      ["exec", vm, "--agent", base, "--", "sh", "-c", "tr a-z A-Z; echo err >&2; exit 5"],
      { KVMON_CONTROL_TOKEN: TOKEN },
      "via agent\n",
    );
    assert.deepEqual([r.code, r.stdout, r.stderr], [5, "VIA AGENT\n", "err\n"]);
    const last = (await records(join(dir, "agent-audit.log"))).at(-1)!;
    assert.deepEqual([last.action, last.guest, last.outcome, last.exitCode], ["exec", vm, "ok", 5]);
    assert.match(last.who, /^token:/);
  });

  test("without the token it says how to give it; a wrong VM names the near ones", async () => {
    const none = await kvmon(["exec", vm, "--agent", base, "--", "true"]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /\[CONTROL_TOKEN\] the agent at .* needs its control token/);
    const typo = await kvmon(["exec", "kvmon-lab", "--agent", base, "--", "true"], {
      KVMON_CONTROL_TOKEN: TOKEN,
    });
    assert.equal(typo.code, 1);
    assert.match(typo.stderr, /no VM named 'kvmon-lab'; did you mean 'kvmon-lab-1'/);
  });

  test("no agent at the URL says how to start one", async () => {
    const r = await kvmon(["exec", vm, "--agent", "http://127.0.0.1:9", "--", "true"], {
      KVMON_CONTROL_TOKEN: TOKEN,
    });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /\[AGENT_UNREACHABLE\] no agent answers at http:\/\/127\.0\.0\.1:9\nhint: start the agent/,
    );
  });
});
