/**
 * Parity with the C library: what kvmon's pure-TypeScript client reads from the lab's libvirtd must equal what
 * `virsh` (libvirt's own C client) reads at the same moment: the domain list (names, ids, states), the bulk
 * stats of every lab guest (same field set; strings and configuration equal; counters between a virsh read
 * taken just before ours and one taken just after), and the domain XML for each dumpxml flag.
 * The lab guests are only read here.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { DomainStatsFlag, LibvirtClient, type TypedParamValue } from "../../src/protocol/libvirt/index.ts";
import { guardLeaks } from "../guards.ts";
import { labGuests } from "../lab.ts";
import { virsh as virshAt } from "../libvirt-helpers.ts";

const URI = "qemu:///system";
const virsh = (...args: string[]) => virshAt(URI, ...args);

let c: LibvirtClient;
guardLeaks(
  async () => {
    c = await LibvirtClient.open(URI);
  },
  () => c.close(),
);

/** virsh's state names (virshDomainStateToString). */
const STATE_NAMES = [
  "no state",
  "running",
  "idle",
  "paused",
  "in shutdown",
  "shut off",
  "crashed",
  "pmsuspended",
];

/** `virsh list --all` as sorted "id name state" lines (id "-" when inactive; a header, if any, skipped). */
function parseVirshList(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split("\n")) {
    const m = line.match(/^\s*(\S+)\s+(\S+)\s+(.+?)\s*$/);
    if (m && m[1] !== "Id") out.push(`${m[1]} ${m[2]} ${m[3]}`);
  }
  return out.sort();
}

async function ourList(): Promise<string[]> {
  const out: string[] = [];
  for (const d of await c.listAllDomains()) {
    const { state } = await c.domainState(d);
    out.push(`${d.id === -1 ? "-" : d.id} ${d.name} ${STATE_NAMES[state]}`);
  }
  return out.sort();
}

test("list all domains equals `virsh list --all` (names, ids, states)", async () => {
  // Others may define domains on this daemon concurrently: only a moment where virsh saw the same list just
  // before and just after ours counts; retry a few times for such a moment.
  for (let attempt = 1; ; attempt++) {
    const pre = parseVirshList(await virsh("list", "--all"));
    const ours = await ourList();
    const post = parseVirshList(await virsh("list", "--all"));
    if (JSON.stringify(pre) !== JSON.stringify(post) && attempt < 5) continue;
    assert.deepEqual(ours, pre);
    for (const g of labGuests)
      assert.ok(
        ours.some((l) => l.endsWith(` ${g} running`)),
        `${g} running`,
      );
    return;
  }
});

/** `virsh domstats --raw` output: domain name → field → raw text. */
function parseDomstats(text: string): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  let cur: Map<string, string> | undefined;
  for (const line of text.split("\n")) {
    const dm = line.match(/^Domain: '(.*)'$/);
    if (dm) {
      cur = new Map();
      out.set(dm[1]!, cur);
      continue;
    }
    const t = line.trim();
    if (!t) continue;
    const eq = t.indexOf("=");
    assert.ok(cur && eq > 0, `unexpected domstats line ${JSON.stringify(line)}`);
    cur.set(t.slice(0, eq), t.slice(eq + 1));
  }
  return out;
}

/**
 * How a field may move between two reads: "const" (configuration, names, states: equal in all three reads),
 * "counter" (only grows: before <= ours <= after) or "gauge" (guest-reported memory figures and host RSS,
 * which may move either way: ours within [min, max] of the two virsh reads).
 */
function kindOf(key: string): "const" | "counter" | "gauge" {
  if (/^balloon\.(unused|available|usable|rss|disk_caches)$/.test(key)) return "gauge";
  if (
    /^cpu\.(time|user|system|haltpoll\.(success|fail)\.time)$/.test(key) ||
    /^balloon\.(swap_in|swap_out|major_fault|minor_fault|last-update|hugetlb_pgalloc|hugetlb_pgfail)$/.test(
      key,
    ) ||
    /^vcpu\.\d+\.(time|wait|delay)$/.test(key) ||
    /^net\.\d+\.(rx|tx)\.(bytes|pkts|errs|drop)$/.test(key) ||
    /^block\.\d+\.((rd|wr|fl)\.(reqs|bytes|times)|allocation|physical)$/.test(key)
  )
    return "counter";
  return "const";
}

/** libvirt's --raw text of a typed parameter value (virTypedParameterToString). */
function raw(v: TypedParamValue): string {
  if (typeof v === "boolean") return v ? "yes" : "no";
  if (typeof v === "number" && !Number.isInteger(v)) return v.toFixed(6);
  return String(v);
}

/** Compares one domain's record; returns the problems found (empty = parity). */
function compareRecord(
  name: string,
  pre: Map<string, string>,
  ours: Map<string, TypedParamValue>,
  post: Map<string, string>,
): string[] {
  const problems: string[] = [];
  const keys = (m: Map<string, unknown>) => JSON.stringify([...m.keys()].sort());
  if (keys(ours) !== keys(pre) || keys(ours) !== keys(post)) {
    problems.push(`${name}: field sets differ: ours ${keys(ours)}, virsh ${keys(pre)} / ${keys(post)}`);
    return problems;
  }
  for (const [k, v] of ours) {
    const mine = raw(v);
    const a = pre.get(k)!;
    const b = post.get(k)!;
    const kind = kindOf(k);
    if (kind === "const") {
      if (mine !== a || mine !== b) problems.push(`${name} ${k}: ours ${mine}, virsh ${a} then ${b}`);
      continue;
    }
    // Counters and gauges are integers in every stat group (ullong on the wire).
    if (typeof v !== "bigint") {
      problems.push(`${name} ${k}: expected a 64-bit integer, got ${typeof v} ${mine}`);
      continue;
    }
    const lo = BigInt(a);
    const hi = BigInt(b);
    const ok = kind === "counter" ? lo <= v && v <= hi : (lo < hi ? lo : hi) <= v && v <= (lo < hi ? hi : lo);
    if (!ok) problems.push(`${name} ${k} (${kind}): virsh ${a}, ours ${mine}, virsh ${b}`);
  }
  return problems;
}

for (const [label, flags, virshFlags] of [
  ["all domains, all groups (flags 0)", 0, []],
  [
    "ACTIVE | NOWAIT (the agent's flags)",
    DomainStatsFlag.ACTIVE | DomainStatsFlag.NOWAIT,
    ["--list-active", "--nowait"],
  ],
] as const) {
  test(`bulk stats of every lab guest equal virsh domstats --raw: ${label}`, async (t) => {
    // Gauges can legitimately jump outside the window if the guest reports mid-way; only then retry.
    for (let attempt = 1; ; attempt++) {
      const pre = parseDomstats(await virsh("domstats", "--raw", ...virshFlags));
      const ours = await c.getAllDomainStats({ stats: 0, flags });
      const post = parseDomstats(await virsh("domstats", "--raw", ...virshFlags));
      assert.deepEqual(ours.map((r) => r.domain.name).sort(), [...pre.keys()].sort());
      const problems: string[] = [];
      let fields = 0;
      for (const g of labGuests) {
        const rec = ours.find((r) => r.domain.name === g);
        assert.ok(rec, `${g} missing from our bulk stats`);
        assert.ok(pre.has(g) && post.has(g), `${g} missing from virsh domstats`);
        problems.push(...compareRecord(g, pre.get(g)!, rec.params, post.get(g)!));
        fields += rec.params.size;
        // Groups every running QEMU guest of the lab reports.
        for (const k of [
          "state.state",
          "cpu.time",
          "balloon.current",
          "vcpu.0.time",
          "net.0.rx.bytes",
          "block.0.rd.bytes",
        ])
          assert.ok(rec.params.has(k), `${g}: ${k}`);
      }
      const onlyGauges = problems.every((p) => p.includes("(gauge)"));
      if (problems.length > 0 && onlyGauges && attempt < 3) continue;
      assert.deepEqual(problems, []);
      t.diagnostic(`${labGuests.length} guests, ${fields} fields compared (attempt ${attempt})`);
      return;
    }
  });
}

test("bulk stats of a domain list (virDomainListGetStats) equal virsh domstats --raw DOM...", async () => {
  const doms = await Promise.all(labGuests.map((g) => c.lookupByName(g)));
  const pre = parseDomstats(await virsh("domstats", "--raw", ...labGuests));
  const ours = await c.getAllDomainStats({ domains: doms });
  const post = parseDomstats(await virsh("domstats", "--raw", ...labGuests));
  assert.deepEqual(
    ours.map((r) => r.domain.name),
    [...pre.keys()],
  );
  const problems = ours.flatMap((r) =>
    compareRecord(r.domain.name, pre.get(r.domain.name)!, r.params, post.get(r.domain.name)!),
  );
  assert.deepEqual(
    problems.filter((p) => !p.includes("(gauge)")),
    [],
  );
});

test("domain XML equals `virsh dumpxml` for each flag set", async () => {
  const variants: [number, string[]][] = [
    [0, []],
    [1, ["--security-info"]],
    [2, ["--inactive"]],
    [8, ["--migratable"]],
  ];
  for (const g of labGuests) {
    const dom = await c.lookupByName(g);
    for (const [flags, args] of variants) {
      const ours = await c.domainXml(dom, flags);
      // With -q (the shared helper's), virsh prints exactly the document, without a blank line of its own.
      const theirs = await virsh("dumpxml", g, ...args);
      assert.equal(ours, theirs, `${g} flags ${flags}`);
      assert.match(ours, new RegExp(`<name>${g}</name>`));
    }
  }
});
