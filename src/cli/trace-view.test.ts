import assert from "node:assert/strict";
import { test } from "node:test";
import type { DomainCounts } from "../tracer/index.ts";
import {
  bar,
  renderLive,
  renderLog,
  renderPlain,
  renderSummary,
  rowKey,
  rowRates,
  type TraceFrame,
} from "./trace-view.ts";

const counts = (rows: [number, string, string, string, number][], seconds = 2): DomainCounts => {
  const r = rows.map(([vcpu, event, reason, target, count]) => ({ vcpu, event, reason, target, count }));
  const total = r.reduce((a, x) => a + x.count, 0);
  return { domain: "vm", seconds, total, events: {}, rows: r, series: [] };
};

test("rowRates: per-row deltas over the interval; new rows count from zero; never negative", () => {
  const before = counts([[0, "kvm_pio", "write", "0x80", 100]]);
  const after = counts([
    [0, "kvm_pio", "write", "0x80", 300],
    [1, "kvm_msr", "wrmsr", "0x6e0", 10],
  ]);
  const r = rowRates(before, after, 2);
  assert.equal(r.get(rowKey(after.rows[0]!)), 100);
  assert.equal(r.get(rowKey(after.rows[1]!)), 5);
  assert.equal(rowRates(after, before, 1).get(rowKey(before.rows[0]!)), 0);
});

test("bar: proportional in eighths of a cell, at least a sliver for any non-zero value", () => {
  assert.equal(bar(10, 10, 4), "████");
  assert.equal(bar(5, 10, 4), "██");
  assert.equal(bar(1, 1000, 4), "▏");
  assert.equal(bar(0, 10, 4), "");
  assert.equal(bar(3, 8, 1), "▍");
});

const frame = (): TraceFrame => {
  const c = counts([
    [0, "kvm_pio", "write", "0x80", 4000],
    [0, "kvm_emulate_insn", "real", "", 1000],
    [1, "kvm_msr", "wrmsr", "0x6e0", 10],
  ]);
  return {
    elapsed: 2,
    duration: 10,
    via: "in-process",
    domains: [c],
    rates: new Map([["vm", rowRates(undefined, c, 2)]]),
    silent: ["kvm:kvm_exit"],
  };
};

test("live view: header, silent events named, rows by vCPU then rate, the busiest with the full bar", () => {
  const text = renderLive(frame(), { width: 100, height: 40, colour: false }).replaceAll("\x1b[K", "");
  const lines = text.split("\n");
  assert.match(lines[0]!, /^kvmon trace {2}2 s of 10 s {2}via in-process$/);
  assert.match(lines[1]!, /^silent: kvm:kvm_exit: enabled, but no event/);
  const rows = lines.filter((l) => /^ +\d {2}kvm_/.test(l));
  assert.deepEqual(
    rows.map((l) => l.trim().split(/ +/).slice(0, 2)),
    [
      ["0", "kvm_pio"],
      ["0", "kvm_emulate_insn"],
      ["1", "kvm_msr"],
    ],
  );
  const full = 100 - 80;
  assert.ok(rows[0]!.includes("█".repeat(full)), rows[0]);
  assert.ok(!rows[1]!.includes("█".repeat(full)));
  assert.match(text, /vm {2}2,505 events\/s, 5,010 in 2 s/);
});

test("live view: a short terminal shows what fits and says how many rows are left", () => {
  const text = renderLive(frame(), { width: 100, height: 7, colour: false });
  assert.match(text, /\.\.\. 2 more rows/);
  assert.ok(text.split("\n").length <= 8);
});

test("plain lines: one per domain with its rate and busiest rows; a run with no domain says so", () => {
  assert.equal(
    renderPlain(frame()),
    "2s vm 2,505 events/s total 5,010: vcpu0 kvm_pio/write/0x80 2,000/s, vcpu0 kvm_emulate_insn/real 500/s, vcpu1 kvm_msr/wrmsr/0x6e0 5/s",
  );
  assert.equal(renderPlain({ ...frame(), domains: [] }), "2s no KVM domain traced yet");
});

test("summary: count, share and rate per row, per-vCPU totals, silent and lost noted", () => {
  const text = renderSummary(frame().domains, { silent: ["kvm:kvm_exit"], eventsLost: 12 }, false);
  assert.match(text, /^vm: 5,010 events in 2\.0 s \(2,505\/s\)$/m);
  assert.match(text, /^ {3}0 {2}kvm_pio +write +0x80 +4,000 +79\.84 +2,000$/m);
  assert.match(text, /^per vCPU: 0: 5,000, 1: 10$/m);
  assert.match(text, /^silent: kvm:kvm_exit/m);
  assert.match(text, /^lost: 12 events/m);
  assert.match(renderSummary([], { silent: [], eventsLost: 0 }, false), /no domain was traced/);
});

test("log: oldest first with microseconds and details", () => {
  const t = Date.UTC(2026, 0, 1, 12, 0, 0, 5) + 0.25;
  const text = renderLog("vm", [
    { time: t, vcpu: 0, event: "kvm_pio", reason: "write", details: { port: "0x80", size: 1 } },
  ]);
  assert.match(text, /^12:00:00\.005250 {2}vcpu0 {2}kvm_pio +write +port=0x80 size=1$/m);
});
