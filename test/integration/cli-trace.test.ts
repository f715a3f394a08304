/**
 * `kvmon trace` as an operator runs it (the real binary, a child process) on the KVM boot-sector guest: the
 * in-process tracer prints a non-empty histogram (plain lines, and bars on a terminal in tmux) and a summary,
 * audits the switch, and leaves no tracefs instance behind; so does Ctrl-C (SIGINT, exit 130). Through an
 * agent: the tracer is off as soon as kvmon ends on SIGTERM, after SIGKILL the agent's duration limit (ours +
 * the margin) ends it, and a lost agent ends kvmon with an error naming that guard. In-process SIGKILL leaves
 * the instance, and the next `kvmon trace` removes it.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { loadConfig } from "../../src/agent/config.ts";
import type { AuditRecord } from "../../src/agent/control/audit.ts";
import type { RunningAgent } from "../../src/agent/server.ts";
import { DURATION_MARGIN_SECONDS } from "../../src/cli/commands/trace.ts";
import { findTracefs } from "../../src/protocol/tracefs/index.ts";
import type { DomainCounts, TracerStatus } from "../../src/tracer/index.ts";
import { startTestAgent, SYSTEM_URI } from "../agent-helpers.ts";
import { KVMON, kvmon, startKvmon, tmux, tmuxSession, untilScreen } from "../cli-run.ts";
import { kvmSkipReason, withKvmGuest } from "../lab.ts";
import { untilBootLoop } from "../tracer-helpers.ts";

const TOKEN = "kvmon-cli-trace-test-token-0123456789";
let dir: string;
let instancesDir: string;
const agents: RunningAgent[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "kvmon-cli-trace-"));
  instancesDir = join(await findTracefs(), "instances");
});

after(async () => {
  for (const a of agents) await a.stop();
  await rm(dir, { recursive: true, force: true });
});

/** kvmon's instances of process `pid` (kvmon-<pid>-...). */
const instancesOf = async (pid: number) =>
  (await readdir(instancesDir)).filter((n) => n.startsWith(`kvmon-${pid}-`));

async function auditRecords(path: string): Promise<AuditRecord[]> {
  return (await readFile(path, "utf8"))
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as AuditRecord);
}

test("kvmon trace on the KVM guest", { skip: await kvmSkipReason() }, async (t) => {
  await withKvmGuest(async (vm) => {
    await untilBootLoop(vm);
    const audit = join(dir, "audit.log");
    const local = ["--local", "--audit-log", audit];

    await t.test("in-process: a histogram, a summary, the log, audited, no instance left", async () => {
      const started = performance.now();
      const k = startKvmon(["trace", vm, "--duration", "3s", "--log", "--log-limit", "5", ...local]);
      const { code } = await k.exit;
      const took = performance.now() - started;
      assert.ok(took < 9000, `a 3 s trace took ${took} ms: the live view must not starve`);
      const out = k.stdout();
      assert.equal(code, 0, k.stderr());
      process.stderr.write(`${out}\n`);
      // Plain lines each second (not a TTY): the busiest row is the boot loop's port write.
      assert.match(
        out,
        new RegExp(`^\\ds ${vm} [\\d,]+ events/s total [\\d,]+: vcpu0 kvm_\\w+/\\S+ [\\d,]+/s`, "m"),
      );
      assert.match(out, new RegExp(`^${vm}: [\\d,]+ events in \\d+\\.\\d s`, "m"));
      assert.match(out, /^ {3}0 {2}kvm_\w+ +\S+ +(0x[\da-f]+ +)?[\d,]+ +\d+\.\d\d +[\d,]+$/m);
      assert.match(out, new RegExp(`recent events of ${vm} \\(5, oldest first\\):`));
      assert.deepEqual(await instancesOf(k.child.pid!), []);
      const records = (await auditRecords(audit)).slice(-2);
      assert.deepEqual(
        records.map((r) => [r.action, r.guest, r.outcome, r.who]),
        [
          ["trace-on", vm, "ok", "unix:root"],
          ["trace-off", vm, "ok", "unix:root"],
        ],
      );
    });

    await t.test(
      "on a terminal (tmux): bars on the alternate screen, then the summary on the normal one",
      async () => {
        const session = `kvmon-test-${process.pid}-trace`;
        await tmuxSession(session, process.cwd());
        try {
          await tmux(
            "send-keys",
            "-t",
            session,
            `KVMON_FROM_SOURCE=1 ${KVMON} trace ${vm} --duration 4s ${local.join(" ")}; echo EXIT=$?`,
            "Enter",
          );
          const live = await untilScreen(session, /vCPU +EVENT +REASON[^]* 0 +kvm_\w+ .*█/);
          process.stderr.write(`live screen:\n${live}\n`);
          assert.match(live, new RegExp(`kvmon trace +\\d s of 4 s +via in-process`));
          const done = await untilScreen(session, /EXIT=0/);
          assert.match(
            done,
            new RegExp(`${vm}: [\\d,]+ events in`),
            "the summary stays on the normal screen",
          );
          assert.doesNotMatch(done, /█/, "the live view went with the alternate screen");
        } finally {
          await tmux("kill-session", "-t", session).catch(() => undefined);
        }
      },
    );

    await t.test("--json: the final counts", async () => {
      const r = await kvmon(["trace", vm, "--duration", "2s", "--json", "--events", "kvm_pio", ...local]);
      assert.equal(r.code, 0, r.stderr);
      const json = JSON.parse(r.stdout) as { domains: DomainCounts[]; silent: string[] };
      const [counts] = json.domains;
      assert.equal(counts?.domain, vm);
      assert.ok(counts.total > 0 && counts.rows.length > 0, "port I/O traced");
      assert.deepEqual([...new Set(counts.rows.map((r) => r.event))], ["kvm_pio"]);
      assert.equal(
        counts.rows.reduce((a, r) => a + r.count, 0),
        counts.total,
      );
    });

    await t.test("SIGINT: the summary, exit 130, the instance gone", async () => {
      const k = startKvmon(["trace", vm, "--duration", "60s", ...local]);
      await k.until(/events\/s/);
      assert.equal((await instancesOf(k.child.pid!)).length, 1, "tracing");
      k.child.kill("SIGINT");
      const { code } = await k.exit;
      assert.equal(code, 130, k.stderr());
      assert.match(k.stdout(), new RegExp(`^${vm}: [\\d,]+ events in`, "m"), "the summary");
      assert.deepEqual(await instancesOf(k.child.pid!), []);
    });

    await t.test("in-process SIGKILL leaves the instance; the next kvmon trace removes it", async () => {
      const k = startKvmon(["trace", vm, "--duration", "60s", ...local]);
      await k.until(/events\/s/);
      k.child.kill("SIGKILL");
      await k.exit;
      const left = await instancesOf(k.child.pid!);
      assert.equal(left.length, 1, "SIGKILL gave it no chance");
      const next = await kvmon(["trace", vm, "--duration", "1s", ...local]);
      assert.equal(next.code, 0, next.stderr);
      assert.ok(!existsSync(join(instancesDir, left[0]!)), `${left[0]} removed by the next start`);
    });

    const config = loadConfig({
      file: "config.json",
      readFile: () => JSON.stringify({ trace: { maxDurationSeconds: 120, ringSize: 1024, bufferKb: 4096 } }),
      flags: { listen: "127.0.0.1:0", interval: "10", "audit-log": join(dir, "agent-audit.log") },
      env: { KVMON_URI: SYSTEM_URI, KVMON_CONTROL_TOKEN: TOKEN },
    });
    const agent = await startTestAgent(config);
    agents.push(agent.running);
    const viaAgent = ["--agent", agent.base];
    const env = { KVMON_CONTROL_TOKEN: TOKEN };
    const status = async () => (await (await fetch(`${agent.base}/api/v1/trace`)).json()) as TracerStatus;

    await t.test("through the agent: SIGTERM switches it off at once; the agent audits", async () => {
      const k = startKvmon(["trace", vm, "--duration", "60s", "--events", "kvm_pio", ...viaAgent], env);
      await k.until(/events\/s/);
      assert.equal((await status()).on, true);
      k.child.kill("SIGTERM");
      assert.equal((await k.exit).code, 143, k.stderr());
      const st = await status();
      assert.equal(st.on, false, "off when kvmon ended");
      assert.deepEqual(await instancesOf(process.pid), []);
      const actions = (await auditRecords(join(dir, "agent-audit.log"))).map((r) => r.action);
      assert.deepEqual(actions.slice(-2), ["trace-on", "trace-off"]);
    });

    await t.test("a lost agent: kvmon says so, with the agent's limit as the guard, exit 1", async () => {
      const second = await startTestAgent(config);
      const k = startKvmon(
        ["trace", vm, "--duration", "60s", "--events", "kvm_pio", "--agent", second.base],
        env,
      );
      await k.until(/events\/s/);
      await second.running.stop(); // an agent that stops switches its tracer off and closes its instance
      const { code } = await k.exit;
      assert.equal(code, 1, k.stderr());
      assert.match(
        k.stderr(),
        /\[AGENT_UNREACHABLE\] lost the agent while tracing: cannot reach the agent at/,
      );
      assert.match(
        k.stderr(),
        /hint: the agent's duration limit \(63 s from the start\) switches the tracer off/,
      );
      assert.deepEqual(await instancesOf(process.pid), []);
    });

    await t.test("through the agent: after SIGKILL the agent's duration limit ends the run", async () => {
      const k = startKvmon(["trace", vm, "--duration", "8s", "--events", "kvm_pio", ...viaAgent], env);
      await k.until(/events\/s/);
      k.child.kill("SIGKILL");
      await k.exit;
      const on = await status();
      const started = on.domains.find((d) => d.domain === vm)!;
      assert.equal((started.until - started.startedAt) / 1000, 8 + DURATION_MARGIN_SECONDS);
      assert.ok(on.on && Date.now() < started.until, "nobody switched it off");
      for (const deadline = started.until + 3000; Date.now() < deadline && (await status()).on;)
        await sleep(250);
      assert.equal((await status()).on, false, "off by the agent's limit");
      assert.deepEqual(await instancesOf(process.pid), []);
    });
  });
});
