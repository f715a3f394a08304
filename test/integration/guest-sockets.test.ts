/**
 * Socket guests configured in the agent (guest.sockets): a whole agent (startAgent) with the guest view on
 * sockets only (guest.libvirt false: no read-write libvirt connection) and two real `qemu-ga -m unix-listen`
 * processes on the host as its guests. Their guest data reaches /api/v1/domains/<name> and /metrics under the
 * configured names (hostname and kernel are the host's own: qemu-ga runs on the host); one agent killed is
 * reported absent and backs off while the other stays fresh; restarted, it is connected again.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { hostname, release, tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { loadConfig } from "../../src/agent/config.ts";
import { SYSTEM_URI, startTestAgent } from "../agent-helpers.ts";
import type { RunningAgent } from "../../src/agent/server.ts";
import { socketGuestUuid } from "../../src/collectors/guest/index.ts";
import { domainSampleSchema, parseWith } from "../../src/model/schema.ts";
import type { DomainSample } from "../../src/model/types.ts";
import { seriesValue } from "../guest-helpers.ts";
import { labGuests } from "../lab.ts";
import { killAgentProcess, startQemuGa } from "../qga-process.ts";

const GUESTS = ["kvmon-sock-a", "kvmon-sock-b"] as const;
const UUID_B = "5f0c2a44-0e4e-4c5e-9d3b-7a1e0c6b2f10";
/** First back-off of an absent agent (GuestSource's default): the restarted one is asked again after it. */
const RETRY_MS = 60_000;

let dir = "";
let running: RunningAgent;
let base = "";
const procs = new Map<string, ChildProcess>();

const sock = (name: string) => join(dir, `${name}.sock`);
const get = async (path: string) => fetch(`${base}${path}`, { signal: AbortSignal.timeout(5000) });
const metrics = async () => (await get("/metrics")).text();

/** The guest's sample from the API; undefined before the first snapshot (503). */
async function maybeDomain(name: string): Promise<DomainSample | undefined> {
  const res = await get(`/api/v1/domains/${name}`);
  if (res.status === 503) return undefined;
  assert.equal(res.status, 200, name);
  return parseWith(domainSampleSchema, ((await res.json()) as { domain: unknown }).domain, name);
}

async function domain(name: string): Promise<DomainSample> {
  const d = await maybeDomain(name);
  assert.ok(d, `${name}: no snapshot yet`);
  return d;
}

async function startGuest(name: string): Promise<void> {
  const state = join(dir, `${name}.state`);
  await mkdir(state, { recursive: true });
  procs.set(name, await startQemuGa(sock(name), state));
}

/** Polls until `ok` holds for the guest's sample, or fails with the last one. */
async function until(name: string, what: string, ok: (d: DomainSample) => boolean, ms: number) {
  let last: DomainSample | undefined;
  for (const end = Date.now() + ms; Date.now() < end; await sleep(250)) {
    last = await maybeDomain(name);
    if (last && ok(last)) return last;
  }
  assert.fail(`${name}: not ${what} within ${ms} ms: ${JSON.stringify(last?.guest?.agent)}`);
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "kvmon-sockets-"));
  for (const name of GUESTS) await startGuest(name);
  const config = loadConfig({
    flags: { listen: "127.0.0.1:0", interval: "1" },
    env: {},
    file: "sockets.json",
    readFile: () =>
      JSON.stringify({
        uri: SYSTEM_URI,
        guest: {
          libvirt: false,
          fast: 1,
          medium: 2,
          slow: 2,
          callTimeout: 1,
          sockets: [
            { name: GUESTS[0], path: sock(GUESTS[0]) },
            { name: GUESTS[1], path: sock(GUESTS[1]), uuid: UUID_B },
          ],
        },
      }),
  });
  ({ running, base } = await startTestAgent(config));
});

after(async () => {
  await running?.stop();
  for (const p of procs.values()) await killAgentProcess(p);
  await rm(dir, { recursive: true, force: true });
});

test("socket guests: their guest data in /api/v1/domains/<name> and /metrics, the host's own identity", async () => {
  for (const name of GUESTS) {
    const d = await until(name, "read", (x) => x.guest?.identity != null && x.guest.memory != null, 15_000);
    assert.equal(d.source, "socket");
    assert.equal(d.uuid, name === GUESTS[1] ? UUID_B : socketGuestUuid(name));
    assert.deepEqual([d.id, d.state, d.cpu, d.block, d.metadata], [0, null, null, null, null]);
    assert.equal(d.guest!.agent.status, "connected");
    assert.equal(d.guest!.identity!.hostname, hostname(), "qemu-ga runs on this host");
    assert.equal(d.guest!.identity!.kernelRelease, release());
    assert.ok(d.guest!.memory!.totalBytes > 0);
  }
  const list = (await (await get("/api/v1/domains")).json()) as { domains: DomainSample[] };
  const names = list.domains.map((d) => d.name);
  for (const name of [...GUESTS, ...labGuests]) assert.ok(names.includes(name), `${name} in ${names}`);
  // guest.libvirt false: libvirt's domains are listed as usual, but nothing asks their agents.
  for (const d of list.domains.filter((x) => x.source === undefined)) assert.equal(d.guest, null, d.name);
  const text = await metrics();
  for (const name of GUESTS) {
    const uuid = name === GUESTS[1] ? UUID_B : socketGuestUuid(name);
    const labels = { domain: name, uuid };
    assert.equal(seriesValue(text, "kvmon_guest_agent_status", { ...labels, status: "connected" }), 1);
    assert.ok(seriesValue(text, "kvmon_guest_memory_total_bytes", labels)! > 0, name);
    assert.equal(
      seriesValue(text, "kvmon_guest_os_info", {
        domain: name,
        hostname: hostname(),
        kernel_release: release(),
      }),
      1,
    );
    assert.equal(seriesValue(text, "kvmon_domain_state_code", labels), undefined, "no libvirt state");
  }
});

test("a killed agent: absent, backed off, the other fresh; restarted: connected again", async () => {
  const [gone, other] = GUESTS;
  await killAgentProcess(procs.get(gone)!);
  const absent = await until(gone, "absent", (d) => d.guest?.agent.status === "absent", 10_000);
  assert.ok(absent.guest!.agent.lastError, "the reason is reported");
  const lastSeen = absent.guest!.agent.lastSeenAt!;
  const before = (await domain(other)).guest!.sampledAt;
  await startGuest(gone);
  // Backing off: the restarted agent is not asked for a while; the other guest is read every fast cycle.
  await sleep(3000);
  const waiting = await domain(gone);
  assert.equal(waiting.guest!.agent.status, "absent", "no call during the back-off");
  assert.equal(waiting.guest!.agent.lastSeenAt, lastSeen);
  const fresh = await domain(other);
  assert.equal(fresh.guest!.agent.status, "connected");
  assert.ok(fresh.guest!.sampledAt >= before + 2000, "the other guest kept being read");
  const back = await until(
    gone,
    "connected again",
    (d) => d.guest?.agent.status === "connected",
    RETRY_MS + 10_000,
  );
  assert.ok(back.guest!.agent.lastSeenAt! > lastSeen);
  assert.equal(back.guest!.identity!.hostname, hostname());
});
