import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { test } from "node:test";
import { TimeoutError } from "./errors.ts";
import { PendingCalls } from "./pending.ts";
import { P } from "./procedures.ts";

const PROC = P.CONNECT_GET_HOSTNAME as Parameters<PendingCalls["add"]>[1];
const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;

test("shared deadline timer: a call times out, its late reply is dropped as abandoned", async () => {
  const p = new PendingCalls();
  const s = p.nextSerial(() => false);
  const t0 = performance.now();
  await assert.rejects(
    p.add(s, PROC, 30),
    (e) => e instanceof TimeoutError && e.timeoutMs === 30 && /CONNECT_GET_HOSTNAME/.test(e.message),
  );
  assert.ok(performance.now() - t0 >= 29, "not before its deadline");
  assert.equal(p.size, 0);
  assert.equal(p.take(s), undefined);
  assert.ok(p.isAbandoned(s));
  assert.equal(p.timerActive, false);
});

test("one timer for many calls; a shorter deadline re-arms it earlier; answered calls never time out", async () => {
  const before = timers();
  const p = new PendingCalls();
  const settled: string[] = [];
  const track = (name: string, pr: Promise<unknown>) =>
    pr.then(
      () => settled.push(`${name}:ok`),
      (e) => settled.push(`${name}:${e instanceof TimeoutError ? "timeout" : "error"}`),
    );
  const all: Promise<unknown>[] = [];
  for (let i = 0; i < 100; i++)
    all.push(
      track(
        `long${i}`,
        p.add(
          p.nextSerial(() => false),
          PROC,
          200,
        ),
      ),
    );
  assert.equal(timers(), before + 1, "one timer, not one per call");
  const short = p.nextSerial(() => false);
  all.push(track("short", p.add(short, PROC, 20)));
  const answered = p.nextSerial(() => false);
  all.push(track("answered", p.add(answered, PROC, 20)));
  assert.equal(timers(), before + 1);
  p.take(answered)!.resolve(1);
  await sleep(60);
  assert.deepEqual(settled.sort(), ["answered:ok", "short:timeout"]);
  assert.equal(p.size, 100, "the long calls are still waiting");
  assert.equal(timers(), before + 1, "re-armed for the long calls");
  await Promise.all(all);
  assert.equal(settled.filter((x) => x.endsWith(":timeout")).length, 101);
  assert.equal(p.size, 0);
  assert.equal(timers(), before, "nothing pending: no timer left");
});

test("the timer holds the process only while calls wait; failAll clears it", async () => {
  const before = timers();
  const p = new PendingCalls();
  const a = p.nextSerial(() => false);
  const pa = p.add(a, PROC, 60_000);
  assert.equal(timers(), before + 1);
  p.take(a)!.resolve("x");
  assert.equal(await pa, "x");
  assert.equal(timers(), before, "armed but unref'd when idle");
  assert.equal(p.timerActive, false);
  const b = p.nextSerial(() => false);
  const pb = p.add(b, PROC, 90_000); // later deadline: the armed timer is ref'd again, not replaced
  assert.equal(timers(), before + 1);
  assert.equal(p.timerActive, true);
  p.failAll(() => new Error("gone"));
  await assert.rejects(pb, /gone/);
  assert.equal(timers(), before);
  assert.equal(p.timerActive, false);
});

test("deadlines beyond setTimeout's 2^31-1 ms neither fire early nor warn", async () => {
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);
  process.on("warning", onWarning);
  try {
    const p = new PendingCalls();
    let done = false;
    const pr = p
      .add(
        p.nextSerial(() => false),
        PROC,
        2 ** 40,
      )
      .finally(() => (done = true));
    await sleep(20);
    assert.equal(done, false);
    p.failAll(() => new Error("closed"));
    await assert.rejects(pr, /closed/);
    assert.deepEqual(warnings, []);
  } finally {
    process.off("warning", onWarning);
  }
});

test("with mocked timers, ticking past a deadline times the call out (no real clock needed)", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const p = new PendingCalls();
  const a = p.add(
    p.nextSerial(() => false),
    PROC,
    1000,
  );
  const b = p.add(
    p.nextSerial(() => false),
    PROC,
    5000,
  );
  let bDone = false;
  void b.catch(() => (bDone = true));
  // Just past each deadline (deadlines are whole milliseconds after the call, rounded up).
  t.mock.timers.tick(1001);
  await assert.rejects(a, TimeoutError);
  assert.equal(bDone, false);
  // b was added a little later than a on the real clock (more than a millisecond on a loaded machine), and its
  // deadline keeps that offset: tick well past it, or the re-armed timer lies beyond the tick and this waits forever.
  t.mock.timers.tick(4100);
  await assert.rejects(b, TimeoutError);
  assert.equal(p.size, 0);
});
