import assert from "node:assert/strict";
import { test } from "node:test";
import { parseJson } from "../../protocol/qga/index.ts";
import { type CustomCommand, customCommandsSchema, CustomLimits, parseReplyPath } from "./custom-config.ts";
import { customSeries } from "./custom.ts";
import { GuestDataError, GuestLimits } from "./limits.ts";

function declare(decl: unknown): CustomCommand {
  const r = customCommandsSchema.safeParse([decl]);
  if (!r.success) throw new Error(r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
  return r.data[0]!;
}

/** The first issue of a declaration, as "path: message". */
function issue(decl: unknown): string {
  const r = customCommandsSchema.safeParse([decl]);
  assert.ok(!r.success, "expected the declaration to be refused");
  const i = r.error.issues[0]!;
  return `${i.path.join(".")}: ${i.message}`;
}

const FS_USED = {
  command: "guest-get-fsinfo",
  tier: "slow",
  metrics: [
    {
      name: "filesystem_used_bytes",
      help: "Used bytes per mountpoint.",
      path: "return[].used-bytes",
      label: { name: "mountpoint", path: "mountpoint" },
    },
  ],
};
const metric = (over: object) => ({
  command: "x-stats",
  metrics: [{ name: "v", path: "return.v", ...over }],
});

test("paths: return, .field steps, one [] list; anything else is refused with why", () => {
  assert.deepEqual(parseReplyPath("return"), { text: "return", to: [], inItem: null });
  assert.deepEqual(parseReplyPath("return.a.b-c"), { text: "return.a.b-c", to: ["a", "b-c"], inItem: null });
  assert.deepEqual(parseReplyPath("return[].used-bytes"), {
    text: "return[].used-bytes",
    to: [],
    inItem: ["used-bytes"],
  });
  assert.deepEqual(parseReplyPath("return.disks[].stats.reads"), {
    text: "return.disks[].stats.reads",
    to: ["disks"],
    inItem: ["stats", "reads"],
  });
  assert.match(String(parseReplyPath("used")), /must start with 'return'/);
  assert.match(String(parseReplyPath("return[].a[].b")), /one '\[\]' only/);
  assert.match(String(parseReplyPath("return..a")), /'' is not a field name/);
  assert.match(String(parseReplyPath("return.a b")), /'a b' is not a field name/);
});

test("declarations: defaults, the family declared under kvmon_guest_custom_, and every refusal names its key", () => {
  const c = declare(FS_USED);
  assert.equal(c.tier, "slow");
  assert.deepEqual(c.metrics[0]?.spec, {
    name: "kvmon_guest_custom_filesystem_used_bytes",
    type: "gauge",
    help: "Used bytes per mountpoint.",
    labels: ["mountpoint"],
    source: "guest-get-fsinfo return[].used-bytes (guest.custom)",
  });
  const d = declare(metric({ type: "counter", name: "reads_total", scale: 512 }));
  assert.equal(d.tier, "medium");
  assert.equal(d.metrics[0]?.scale, 512);
  assert.equal(d.metrics[0]?.spec.help, "x-stats return.v");
  assert.match(issue(metric({ name: "Bad-Name" })), /^0\.metrics\.0\.name: must be lower_snake_case/);
  assert.match(
    issue(metric({ type: "counter" })),
    /^0\.metrics\.0\.name: a counter's name must end in _total/,
  );
  assert.match(issue(metric({ name: "v_total" })), /^0\.metrics\.0\.name: only counters end in _total/);
  assert.match(issue(metric({ path: "return[].v" })), /^0\.metrics\.0\.path: .*give a label .* or sum/);
  assert.match(issue(metric({ sum: true })), /^0\.metrics\.0\.sum: needs a list/);
  assert.match(issue(metric({ label: { name: "k", path: "k" } })), /^0\.metrics\.0\.label: needs a list/);
  assert.match(
    issue(metric({ path: "return[].v", sum: true, label: { name: "k", path: "k" } })),
    /^0\.metrics\.0\.sum: cannot be combined/,
  );
  assert.match(
    issue(metric({ path: "return[].v", label: { name: "domain", path: "k" } })),
    /^0\.metrics\.0\.label: 'domain' is reserved/,
  );
  assert.match(
    issue(metric({ path: "return[].v", label: { name: "k", path: "a..b" } })),
    /^0\.metrics\.0\.label\.path: must be field names/,
  );
  assert.match(issue(metric({ scale: 0 })), /^0\.metrics\.0\.scale: must be above 0/);
  assert.match(issue({ command: "x", metrics: [] }), /^0\.metrics: must declare at least one metric/);
  assert.match(issue({ command: "guest-exec", metrics: FS_USED.metrics }), /^0\.command: .*only reads/);
  assert.match(issue({ command: "guest-file-write", metrics: FS_USED.metrics }), /^0\.command: .*only reads/);
  assert.match(issue({ ...metric({}), argumentz: {} }), /Unrecognized key/);
  const twice = customCommandsSchema.safeParse([FS_USED, FS_USED]);
  assert.ok(!twice.success);
  assert.equal(twice.error.issues[0]?.path.join("."), "1.metrics.0.name");
  assert.match(twice.error.issues[0]!.message, /declared twice/);
  assert.equal(customCommandsSchema.safeParse(Array(CustomLimits.commands + 1).fill(FS_USED)).success, false);
});

const series = (c: CustomCommand, reply: string, truncated = new Set<string>()) =>
  customSeries(c, parseJson(reply), truncated);

test("extraction: one series per list item by label, missing fields skipped, sums, scale, exact big integers", () => {
  const fs = declare(FS_USED);
  const reply = JSON.stringify([
    { mountpoint: "/", "used-bytes": 1000 },
    { mountpoint: "/boot" }, // no statvfs: no series, not an error
    { mountpoint: "/", "used-bytes": 5 }, // a second "/" (bind mount): the first wins
    { mountpoint: "/data", "used-bytes": 20 },
  ]);
  assert.deepEqual(series(fs, reply), [
    { metric: "kvmon_guest_custom_filesystem_used_bytes", label: "/", value: 1000 },
    { metric: "kvmon_guest_custom_filesystem_used_bytes", label: "/data", value: 20 },
  ]);
  const vcpus = declare({
    command: "guest-get-vcpus",
    metrics: [{ name: "vcpus_online", path: "return[].online", sum: true }],
  });
  const online =
    '[{"logical-id":0,"online":true},{"logical-id":1,"online":false},{"logical-id":2,"online":true}]';
  assert.deepEqual(series(vcpus, online), [
    { metric: "kvmon_guest_custom_vcpus_online", label: null, value: 2 },
  ]);
  const kib = declare({
    command: "x-mem",
    metrics: [{ name: "used_bytes", path: "return.mem.used", scale: 1024 }],
  });
  assert.deepEqual(series(kib, '{"mem":{"used":3}}'), [
    { metric: "kvmon_guest_custom_used_bytes", label: null, value: 3072 },
  ]);
  assert.deepEqual(series(kib, "{}"), [], "a missing field is no series");
  const big = declare(metric({ type: "counter", name: "big_total" }));
  assert.deepEqual(series(big, '{"v":18446744073709551615}'), [
    { metric: "kvmon_guest_custom_big_total", label: null, value: 2 ** 64 },
  ]);
  const byId = declare({
    command: "x-cpus",
    metrics: [{ name: "cpu_busy", path: "return.cpus[].busy", label: { name: "cpu", path: "id" } }],
  });
  assert.deepEqual(series(byId, '{"cpus":[{"id":7,"busy":0.5}]}'), [
    { metric: "kvmon_guest_custom_cpu_busy", label: "7", value: 0.5 },
  ]);
});

test("hostile replies: wrong types are a GuestDataError, labels bounded, prototype keys are data, series capped", () => {
  const fs = declare(FS_USED);
  const hostile = (reply: string, re: RegExp) =>
    assert.throws(
      () => series(fs, reply),
      (e) => e instanceof GuestDataError && re.test(e.message),
    );
  hostile('{"not":"a list"}', /guest-get-fsinfo return\[\]\.used-bytes: expected a list, got object/);
  hostile('[{"mountpoint":"/","used-bytes":"lots"}]', /expected a number, got string/);
  hostile('[{"mountpoint":"/","used-bytes":[1]}]', /expected a number, got a list/);
  hostile(
    '[{"mountpoint":{"x":1},"used-bytes":1}]',
    /mountpoint: expected a string or number for the label, got object/,
  );
  hostile('[{"used-bytes":1}]', /got nothing/);
  hostile("[1]", /expected an object at 'used-bytes', got number/);
  const counter = declare(metric({ type: "counter", name: "c_total", scale: 10 }));
  assert.throws(() => series(counter, '{"v":1e308}'), /out of range/);
  assert.throws(() => series(counter, '{"v":-1}'), /negative \(a counter\)/);
  // Keys that name Object.prototype members are only data: no inherited value is ever read.
  const proto = declare({ command: "x", metrics: [{ name: "c", path: "return.constructor" }] });
  assert.deepEqual(series(proto, "{}"), []);
  assert.deepEqual(series(proto, '{"__proto__":1,"constructor":2}'), [
    { metric: "kvmon_guest_custom_c", label: null, value: 2 },
  ]);
  const [evil] = series(fs, JSON.stringify([{ mountpoint: `a"b\n${"x".repeat(5000)}`, "used-bytes": 1 }]));
  assert.equal(evil?.label?.length, GuestLimits.stringLength);
  assert.ok(evil?.label?.startsWith('a"b\ufffd'));
  const many = JSON.stringify(
    Array.from({ length: 10_000 }, (_, i) => ({ mountpoint: `/m${i}`, "used-bytes": i })),
  );
  const truncated = new Set<string>();
  assert.equal(series(fs, many, truncated).length, CustomLimits.seriesPerCommand);
  assert.deepEqual([...truncated], ["custom:guest-get-fsinfo"]);
  const fewer = new Set<string>();
  series(fs, JSON.stringify([{ mountpoint: "/", "used-bytes": 1 }]), fewer);
  assert.deepEqual([...fewer], []);
});
