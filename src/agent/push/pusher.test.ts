import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "node:test";
import { collectors } from "../../collectors/registry.ts";
import { FamilyWriter } from "../../metrics/exposition.ts";
import { parseSnapshot } from "../../model/schema.ts";
import type { Snapshot } from "../../model/types.ts";
import { decodeWrite } from "../../protocol/remote-write/index.ts";
import { ConfigError } from "../errors.ts";
import { Logger, ProblemLog } from "../log.ts";
import { selfMetrics } from "../self-metrics.ts";
import { type PushTargetConfig, Pusher } from "./pusher.ts";
import { BatchKind } from "../../protocol/remote-write/sender.ts";
import { Spool } from "../../protocol/remote-write/spool.ts";

const golden = parseSnapshot(
  JSON.parse(readFileSync(new URL("../../model/testdata/snapshot.golden.json", import.meta.url), "utf8")),
);
/** The golden snapshot as if collected at `t` (ms). */
const at = (t: number): Snapshot => ({ ...golden, startedAt: t, finishedAt: t + 50 });

function setup(targets: Partial<PushTargetConfig>[]) {
  const root = mkdtempSync(join(tmpdir(), "kvmon-pusher-"));
  const configs = targets.map((t, i) => ({
    name: `t${i}`,
    url: "http://127.0.0.1:9/api/v1/write",
    kind: "remote-write" as const,
    tokenFile: null,
    caFile: null,
    certFile: null,
    keyFile: null,
    intervalSeconds: 10,
    timeoutSeconds: 1,
    spoolDir: join(root, `t${i}`),
    spoolMaxBytes: 1 << 24,
    ...t,
  }));
  const logger = new Logger(() => undefined);
  const pusher = new Pusher({
    targets: configs,
    collectors,
    agentLines: (_snap, emit) => emit(selfMetrics.collections, 42),
    port: 9477,
    logger,
    problems: new ProblemLog(logger),
    clock: () => 5_000_000,
  });
  // Senders are not started: what was queued stays in the spools, read back below.
  const spooled = (i: number) => {
    const s = new Spool({ dir: configs[i]!.spoolDir, maxBytes: 1 << 24 });
    const out = [];
    for (let b = s.peek(); b; b = s.peek()) {
      out.push(b);
      s.ack(b.id);
    }
    s.close();
    return out;
  };
  const metrics = () => {
    const w = new FamilyWriter();
    pusher.expose(w.emitter([], []));
    return w.render();
  };
  return { pusher, spooled, metrics, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

test("one batch per target interval: the snapshot's series plus the agent's own, with host and instance", async () => {
  const { pusher, spooled, cleanup } = setup([{}, { intervalSeconds: 30 }]);
  try {
    for (const t of [1_000_000, 1_000_200, 1_010_000, 1_020_000, 1_030_000, 1_040_000]) pusher.push(at(t));
    await pusher.stop();
    const every10 = spooled(0);
    // 1_000_000 and 1_000_200 share a 10 s slot.
    assert.equal(every10.length, 5);
    assert.equal(spooled(1).length, 2); // slots 33 and 34 of 30 s
    const series = decodeWrite(every10[0]!.payload, 1 << 24);
    assert.equal(every10[0]!.samples, series.length);
    const own = series.find((s) => s.labels.some((l) => l.value === "kvmon_collections_total"))!;
    assert.deepEqual(own.labels, [
      { name: "__name__", value: "kvmon_collections_total" },
      { name: "host", value: golden.agent.hostname },
      { name: "instance", value: `${golden.agent.hostname}:9477` },
    ]);
    assert.deepEqual(own.samples, [{ value: 42, timestamp: 5_000_000 }]);
    const domain = series.find((s) => s.labels.some((l) => l.name === "domain"))!;
    assert.equal(domain.samples[0]!.timestamp, 1_000_050);
  } finally {
    cleanup();
  }
});

test("a collection whose timer fired a little early (wall clock) still gets its push; a late one too", async () => {
  const { pusher, spooled, cleanup } = setup([{ intervalSeconds: 1 }]);
  try {
    // Grid points 1 s apart: 1999 is the 2000 tick fired 1 ms early, 5700 the 5000 tick 700 ms late.
    for (const t of [1000, 1999, 3000, 3999, 5700, 6000, 6050]) pusher.push(at(t));
    await pusher.stop();
    const stamps = spooled(0).map(
      (b) =>
        decodeWrite(b.payload, 1 << 24).find((s) => s.labels.some((l) => l.name === "domain"))!.samples[0]!
          .timestamp,
    );
    // 6050 shares 6000's slot: one push per interval still.
    assert.deepEqual(stamps, [1050, 2049, 3050, 4049, 5750, 6050]);
  } finally {
    cleanup();
  }
});

test("a kvmon target also gets the snapshot JSON and the lifecycle events since its last push", async () => {
  const { pusher, spooled, cleanup } = setup([{ kind: "kvmon", url: "http://127.0.0.1:9/" }, {}]);
  try {
    pusher.push(at(1_000_000));
    const vm = { name: "vm-1", uuid: "0bb7aa1a-f79c-4d26-b572-4628cfa8d956", id: 3 };
    pusher.event({ domain: vm, event: 5, detail: 1 });
    pusher.event({ domain: vm, event: 2, detail: 0 });
    pusher.event({ domain: vm, event: 42, detail: 7 });
    pusher.push(at(1_010_000));
    pusher.push(at(1_020_000));
    await pusher.stop();
    const b = spooled(0);
    const { write, snapshot, events } = BatchKind;
    assert.deepEqual(
      b.map((x) => x.kind),
      [write, snapshot, write, snapshot, events, write, snapshot],
    );
    assert.deepEqual(parseSnapshot(JSON.parse(Buffer.from(b[1]!.payload).toString())), at(1_000_000));
    const e = (type: string, detail: string | null) => ({
      time: 5_000_000,
      domain: "vm-1",
      uuid: vm.uuid,
      type,
      detail,
    });
    assert.deepEqual(JSON.parse(Buffer.from(b[4]!.payload).toString()), [
      e("stopped", "destroyed"),
      e("started", "booted"),
      e("unknown", null),
    ]);
    // A remote_write target gets samples only.
    assert.deepEqual(
      spooled(1).map((x) => x.kind),
      [write, write, write],
    );
  } finally {
    cleanup();
  }
});

test("at the spool bound the oldest batches are dropped and counted in the push metrics", async () => {
  const probe = setup([{}]);
  const T0 = 1_764_000_000_000; // every timestamp the same varint length: every batch the same size
  probe.pusher.push(at(T0));
  await probe.pusher.stop();
  const size = probe.spooled(0)[0]!.payload.length + 13;
  probe.cleanup();
  const { pusher, spooled, metrics, cleanup } = setup([{ spoolMaxBytes: size * 3 }]);
  try {
    for (let i = 0; i < 8; i++) pusher.push(at(T0 + i * 10_000));
    const text = metrics();
    // Batches differ by a few bytes (their timestamps compress differently): 2 or 3 fit.
    const kept = Number(/^kvmon_push_spool_batches\{target="t0"\} (\d+)$/m.exec(text)?.[1]);
    assert.ok(kept === 2 || kept === 3, text);
    const dropped = new RegExp(
      `^kvmon_push_dropped_batches_total\\{target="t0",reason="spool_full"\\} ${8 - kept}$`,
      "m",
    );
    assert.match(text, dropped);
    assert.ok(Number(/^kvmon_push_spool_bytes\{target="t0"\} (\d+)$/m.exec(text)?.[1]) <= size * 3);
    await pusher.stop();
    const left = spooled(0).map(
      (b) =>
        decodeWrite(b.payload, 1 << 24).find((s) => s.labels.some((l) => l.name === "domain"))!.samples[0]!
          .timestamp,
    );
    // The newest ones, in order.
    assert.deepEqual(
      left,
      [50_050, 60_050, 70_050].slice(3 - kept).map((d) => T0 + d),
    );
  } finally {
    cleanup();
  }
});

test("a spool directory that cannot be made stops the start with a ConfigError naming push.spoolDir", () => {
  const logger = new Logger(() => undefined);
  // Below a regular file: ENOTDIR.
  const root = mkdtempSync(join(tmpdir(), "kvmon-pusher-"));
  writeFileSync(join(root, "file"), "");
  assert.throws(
    () =>
      new Pusher({
        targets: [
          {
            name: "t",
            url: "http://127.0.0.1:9/api/v1/write",
            kind: "remote-write",
            tokenFile: null,
            caFile: null,
            certFile: null,
            keyFile: null,
            intervalSeconds: 10,
            timeoutSeconds: 1,
            spoolDir: join(root, "file", "spool"),
            spoolMaxBytes: 1 << 20,
          },
        ],
        collectors,
        agentLines: () => undefined,
        port: 1,
        logger,
        problems: new ProblemLog(logger),
      }),
    (e: unknown) => e instanceof ConfigError && e.key === "push.spoolDir",
  );
  rmSync(root, { recursive: true, force: true });
});

test("a target's TLS file that is not PEM stops the start with a ConfigError naming its key", () => {
  const root = mkdtempSync(join(tmpdir(), "kvmon-pusher-"));
  const junk = join(root, "ca.pem");
  writeFileSync(junk, "not a certificate\n");
  try {
    assert.throws(
      () => setup([{ caFile: junk }]),
      (e: unknown) =>
        e instanceof ConfigError && e.key === "push.caFile" && /no PEM certificate/.test(e.message),
    );
    assert.throws(
      () => setup([{ certFile: junk }]),
      (e: unknown) => e instanceof ConfigError && e.key === "push.keyFile" && /needs both/.test(e.message),
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
