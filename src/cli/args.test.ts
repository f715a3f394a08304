/** Argument parsing of console, exec and trace, durations and the near-match suggestions. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseExecArgs } from "./commands/exec.ts";
import { parseTraceArgs } from "./commands/trace.ts";
import { durationFlag, format } from "./duration.ts";
import { UsageError } from "./errors.ts";
import { nearMatches, unknownVmMessage } from "./near-matches.ts";

test("durations: bare seconds and units; out of range or malformed names the flag", () => {
  assert.equal(durationFlag("d", "10", 0), 10_000);
  assert.equal(durationFlag("d", "1.5s", 0), 1500);
  assert.equal(durationFlag("d", "250ms", 0), 250);
  assert.equal(durationFlag("d", "2m", 0), 120_000);
  assert.equal(durationFlag("d", undefined, 42), 42);
  assert.throws(
    () => durationFlag("d", "10x", 0),
    (e) => e instanceof UsageError && /--d must/.test(e.message),
  );
  assert.throws(() => durationFlag("d", "0", 0), UsageError);
  assert.throws(() => durationFlag("d", "2h", 0, { maxMs: 3_600_000 }), /from 1ms to 1h/);
  assert.deepEqual([format(250), format(1500), format(120_000)], ["250ms", "1.5s", "2m"]);
});

test("exec: the command after --, options before it, the timeout", () => {
  const a = parseExecArgs(["web-1", "--timeout", "5s", "--", "sh", "-c", "exit 3"]);
  assert.deepEqual([a.vm, a.command, a.timeoutMs], ["web-1", ["sh", "-c", "exit 3"], 5000]);
  const b = parseExecArgs(["web-1", "uname"]);
  assert.deepEqual([b.command, b.timeoutMs], [["uname"], 30_000]);
  assert.deepEqual(parseExecArgs(["vm", "--", "ls", "--", "-l"]).command, ["ls", "--", "-l"]);
  assert.throws(() => parseExecArgs(["web-1"]), /name the command/);
  assert.throws(() => parseExecArgs([]), /name the VM/);
  assert.throws(() => parseExecArgs(["vm", "--timeout", "2h", "--", "x"]), /--timeout/);
  assert.throws(() => parseExecArgs(["vm", "uname", "-a"]), UsageError, "an option of the command needs --");
});

test("trace: VMs or --all, events, duration and refresh", () => {
  const a = parseTraceArgs(["a", "b", "a", "--duration", "1m", "--events", "kvm_pio, kvm:kvm_mmio"]);
  assert.deepEqual(
    [a.domains, a.durationMs, a.events, a.refreshMs],
    [["a", "b"], 60_000, ["kvm_pio", "kvm:kvm_mmio"], 1000],
  );
  const all = parseTraceArgs(["--all", "--log", "--log-limit", "7", "--json"]);
  assert.deepEqual(
    [all.domains, all.log, all.logLimit, all.json, all.events],
    ["all", true, 7, true, undefined],
  );
  assert.throws(() => parseTraceArgs([]), /name a VM, or give --all/);
  assert.throws(() => parseTraceArgs(["a", "--all"]), /not both/);
  assert.throws(() => parseTraceArgs(["a", "--events", "kvm pio"]), /not an event name/);
  assert.throws(() => parseTraceArgs(["a", "--refresh", "10ms"]), /--refresh/);
});

test("near matches: typos and fragments, closest first; none for an unrelated name", () => {
  const names = ["kvmon-lab-1", "kvmon-lab-2", "kvmon-lab-kvm", "web-1"];
  assert.deepEqual(nearMatches("kvmon-lab-l", names).slice(0, 2), ["kvmon-lab-1", "kvmon-lab-2"]);
  assert.deepEqual(nearMatches("web", names), ["web-1"]);
  assert.deepEqual(nearMatches("database", names), []);
  assert.match(unknownVmMessage("wbe-1", names), /no VM named 'wbe-1'; did you mean 'web-1'\?/);
  assert.match(unknownVmMessage("database", names), /VMs: kvmon-lab-1, kvmon-lab-2, kvmon-lab-kvm, web-1$/);
  assert.match(unknownVmMessage("x", []), /libvirt lists no VM/);
});
