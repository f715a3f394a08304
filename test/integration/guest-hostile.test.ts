/**
 * Hostile guest agents against the guest view over unix sockets (socketGuestChannel), run by the agent's own
 * async-source scheduler: fake agents as processes (test/fake-qga.ts) answering garbage, an endless line, a
 * 100 MB reply, 10 000 filesystems, invalid UTF-8, label values with quotes and newlines, or nothing, beside a
 * real `qemu-ga -m unix-listen` on the host. The view stays up, the test process's memory stays bounded, the
 * good guest is fresh every cycle, and each bad guest is reported (agent status and lastError).
 * At the GuestSource level (test/integration/guest-sockets.test.ts runs socket guests through the whole agent).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { AsyncSources } from "../../src/agent/async-sources.ts";
import { Logger, ProblemLog } from "../../src/agent/log.ts";
import { GuestSource, socketGuestChannel } from "../../src/collectors/guest/index.ts";
import type { DomainTarget } from "../../src/collectors/types.ts";
import { FamilyWriter } from "../../src/metrics/exposition.ts";
import type { DomainSample, GuestSample, Snapshot } from "../../src/model/types.ts";
import { killAgentProcess, startFakeQga, startQemuGa } from "../qga-process.ts";

const BAD = ["garbage", "endless", "huge", "many", "utf8", "labels", "silent"] as const;
const GOOD = "good";
const FAST_MS = 1000;
const MiB = 1024 * 1024;

let dir = "";
const procs: ChildProcess[] = [];
const targets: DomainTarget[] = [GOOD, ...BAD].map((name, i) => ({
  name,
  uuid: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
  id: 1,
}));

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "kvmon-hostile-"));
  procs.push(await startQemuGa(join(dir, `${GOOD}.sock`), dir));
  for (const mode of BAD) procs.push(await startFakeQga(join(dir, `${mode}.sock`), mode));
});

after(async () => {
  for (const p of procs) await killAgentProcess(p);
  await rm(dir, { recursive: true, force: true });
});

/** The guest sections the scheduler would merge now, by guest name. */
function guests(runner: AsyncSources): Map<string, GuestSample | null> {
  const snap = { domains: targets.map((t) => ({ ...t, guest: null, trace: null })) } as unknown as Snapshot;
  return new Map(runner.apply(snap).domains.map((d) => [d.name, d.guest]));
}

test("hostile agents: the view stays up with bounded memory, the good guest fresh every cycle, the bad reported", async () => {
  const source = new GuestSource({
    channel: (t) => socketGuestChannel(join(dir, `${t.name}.sock`), 1000),
    tiers: { fast: FAST_MS / 1000, medium: 2, slow: 5 },
    callTimeoutMs: 1000,
    retryMs: 2000,
    maxRetryMs: 4000,
  });
  const rssStart = process.memoryUsage.rss();
  const runner = new AsyncSources([source], { problems: new ProblemLog(new Logger(() => {}, "error")) });
  runner.start();
  runner.setDomains(targets);
  try {
    await sleep(3 * FAST_MS); // every guest asked, the bad ones misbehaving
    const rssBefore = process.memoryUsage.rss();
    let rssMax = rssBefore;
    const stale: string[] = [];
    // lastError is the last cycle's: a slow-tier part fails only in the cycles that run it, so the view is
    // sampled four times per fast cycle (one sample per cycle could drift past a slow cycle on a loaded host).
    const errors = new Map<string, string>();
    const cycles = 25;
    for (let c = 0; c < cycles * 4; c++) {
      await sleep(FAST_MS / 4);
      rssMax = Math.max(rssMax, process.memoryUsage.rss());
      const all = guests(runner);
      for (const [name, g] of all)
        if (g?.agent.lastError) errors.set(name, `${errors.get(name) ?? ""}${g.agent.lastError}\n`);
      const good = all.get(GOOD);
      const age = good ? Date.now() - good.sampledAt : Number.POSITIVE_INFINITY;
      if (good?.agent.status !== "connected" || age > 2 * FAST_MS) stale.push(`sample ${c}: ${age} ms`);
    }
    const rssAfter = process.memoryUsage.rss();
    const mib = (n: number) => `${(n / MiB).toFixed(1)} MiB`;
    console.log(
      `# RSS at start ${mib(rssStart)}, after 3 s ${mib(rssBefore)}, max ${mib(rssMax)}, end ${mib(rssAfter)}`,
    );
    assert.deepEqual(stale, [], "the good guest is fresh every cycle");
    // Buffering the 100 MB reply would cost more than 100 MiB at once; the endless line 20 MB/s, 500 MB in all.
    assert.ok(
      rssBefore - rssStart < 128 * MiB,
      `RSS grew by ${mib(rssBefore - rssStart)} in the first cycles`,
    );
    assert.ok(rssMax - rssBefore < 64 * MiB, `RSS grew by ${mib(rssMax - rssBefore)} over ${cycles} cycles`);

    const now = guests(runner);
    const good = now.get(GOOD)!;
    assert.equal(errors.get(GOOD), undefined);
    assert.equal(good.identity?.hostname, hostname(), "the host's own qemu-ga");
    assert.ok((good.filesystems?.length ?? 0) > 0 && (good.memory?.totalBytes ?? 0) > 0);
    const report = (name: string) => {
      const g = now.get(name);
      assert.ok(g, `${name} has a guest section`);
      return { status: g.agent.status, lastError: errors.get(name) ?? "" };
    };
    assert.deepEqual(report("garbage").status, "unresponsive");
    assert.match(report("garbage").lastError, /^guest-info: /m);
    assert.equal(report("endless").status, "unresponsive");
    assert.match(report("endless").lastError, /time|longer|line/i);
    assert.match(report("huge").lastError, /longer than 1048576 bytes/);
    assert.equal(now.get("huge")!.filesystems, null, "nothing kept of the 100 MB reply");
    assert.match(
      report("many").lastError,
      /longer than 1048576 bytes/,
      "10 000 filesystems: over the reply cap",
    );
    assert.match(report("utf8").lastError, /UTF-8/i);
    assert.equal(report("silent").status, "unresponsive");
    assert.match(report("silent").lastError, /time/i);
    const labels = now.get("labels")!;
    assert.equal(labels.agent.status, "connected");
    assert.equal(labels.filesystems?.length, 256);
    assert.ok(labels.truncated.includes("filesystems"));
    assert.ok(!labels.identity?.hostname?.includes("\n"));
    // The whole exposition of every guest, hostile labels included, is valid.
    const w = new FamilyWriter();
    for (const s of source.metrics) w.declare(s);
    for (const [name, guest] of now) {
      const t = targets.find((x) => x.name === name)!;
      source.expose(
        { ...t, guest } as unknown as DomainSample,
        w.emitter(["domain", "uuid"], [t.name, t.uuid]),
      );
    }
    const text = w.render();
    assert.match(text, /mountpoint="\/q\\"uote\\\\back\ufffdnew\{line=\\"1\\"\}0"/u);
    const lint = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
    assert.equal(lint.status, 0, `${lint.stdout}${lint.stderr}`);
    const status = runner.status()[0]!;
    assert.equal(status.failures, 0, `no fetch threw: ${status.lastError}`);
    assert.equal(status.timeouts, 0, "every guest's cycle ended within its own deadline");
  } finally {
    runner.stop();
    await source.close();
  }
});
