import assert from "node:assert/strict";
import { test } from "node:test";
import { loadStats, loadXml } from "../collectors/fixtures/load.ts";
import { collectors } from "../collectors/registry.ts";
import { LibvirtClient, type LibvirtClientOptions, P } from "../protocol/libvirt/index.ts";
import { MockLibvirtd, NO_REPLY } from "../protocol/libvirt/testing/mock-libvirtd.ts";
import { Agent } from "./agent.ts";
import { LibvirtSource } from "./libvirt-source.ts";
import { Logger, ProblemLog } from "./log.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Each connection gets a fresh mock daemon answering the calls the agent makes from recorded fixtures. */
function daemons(opts: { hangStats?: () => boolean } = {}) {
  const servers: MockLibvirtd[] = [];
  const statsCalls: { stats: number; flags: number }[] = [];
  const featureChecks: number[] = [];
  const tcg = loadStats("tcg-1.stats").record;
  const connect = async (uri: string, clientOpts: LibvirtClientOptions) => {
    const s = new MockLibvirtd()
      .on(P.CONNECT_SUPPORTS_FEATURE, (a) => {
        featureChecks.push((a as { feature: number }).feature);
        return { supported: 1 };
      })
      .on(P.AUTH_LIST, () => ({ types: [0] }))
      .on(P.CONNECT_OPEN, () => undefined)
      .on(P.CONNECT_CLOSE, () => undefined)
      .on(P.CONNECT_GET_HOSTNAME, () => ({ hostname: `hv${servers.length}` }))
      .on(P.CONNECT_GET_LIB_VERSION, () => ({ libVer: 9000000n }))
      .on(P.CONNECT_GET_VERSION, () => ({ hvVer: 7002022n }))
      .on(P.NODE_GET_INFO, () => ({
        model: "x86_64",
        memory: 1024n,
        cpus: 2,
        mhz: 2000,
        nodes: 1,
        sockets: 1,
        cores: 2,
        threads: 1,
      }))
      .on(P.CONNECT_LIST_ALL_DOMAINS, () => ({ domains: [tcg.domain], ret: 1 }))
      .on(P.DOMAIN_GET_XML_DESC, () => ({ xml: loadXml("tcg.xml") }))
      .on(P.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, () => ({ callbackID: 1 }))
      .on(P.CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY, () => undefined)
      .on(P.CONNECT_GET_ALL_DOMAIN_STATS, (a) => {
        statsCalls.push(a as { stats: number; flags: number });
        return opts.hangStats?.() ? NO_REPLY : { retStats: [tcg] };
      });
    servers.push(s);
    // The source's own client options (keepalive among them), over the mock's transport.
    return LibvirtClient.open(uri, { ...clientOpts, transport: s.transport });
  };
  return { servers, statsCalls, featureChecks, connect };
}

async function connected(source: LibvirtSource, generation: number) {
  for (let i = 0; i < 200 && source.connection().generation < generation; i++) await sleep(5);
  assert.equal(source.connection().generation, generation);
}

/**
 * A LibvirtSource over `d`'s daemons and an agent over it (debug log lines kept), started and waited on until
 * connected. `timeoutMs` is both the source's call timeout and the agent's collection timeout.
 */
async function startAgent(
  d: ReturnType<typeof daemons>,
  opts: { timeoutMs?: number; initialDelayMs?: number } = {},
) {
  const { timeoutMs = 1000, initialDelayMs = 5 } = opts;
  const source = new LibvirtSource({
    uri: "qemu:///system",
    readOnly: true,
    callTimeoutMs: timeoutMs,
    connectTimeoutMs: 1000,
    reconnect: { connect: d.connect, initialDelayMs, jitter: 0 },
  });
  const lines: Record<string, unknown>[] = [];
  const logger = new Logger((l) => lines.push(JSON.parse(l)), "debug");
  const agent = new Agent({
    source,
    collectors,
    intervalMs: 60_000,
    timeoutMs,
    logger,
    problems: new ProblemLog(logger),
  });
  source.start();
  await connected(source, 1);
  return { source, agent, lines };
}

test("over the real client and wire codec: one NOWAIT bulk call, host info, XML metadata", async () => {
  const d = daemons();
  const { agent } = await startAgent(d);
  await agent.tick();
  await sleep(20); // metadata is fetched in the background
  await agent.tick();
  const snap = agent.snapshot()!;
  assert.equal(d.statsCalls.length, 2);
  assert.equal(d.statsCalls[0]!.flags, 0x20000000, "NOWAIT");
  assert.equal(snap.host.hostname, "hv1");
  assert.equal(snap.host.libvirtVersion, "9.0.0");
  const dom = snap.domains[0]!;
  assert.equal(dom.cpu!.timeSeconds.total, 6.401327, "bigint counters decoded");
  assert.equal(dom.metadata!.disks[0]!.target, "vda");
  await agent.stop();
});

test("the agent's connection does not ask for keepalive, so libvirtd never PINGs it between collections", async () => {
  // Asking for the keepalive feature is what makes libvirtd PING a client after 5 s without a packet from it:
  // on a 10 s interval, a wake-up of the sleeping agent per interval, plus our own PING timer (every 5 s).
  const d = daemons();
  const { agent } = await startAgent(d);
  await agent.tick();
  assert.equal(d.statsCalls.length, 1, "connected and collected");
  assert.deepEqual(d.featureChecks, [], "CONNECT_SUPPORTS_FEATURE(keepalive) never sent");
  await agent.stop();
});

test("libvirtd goes away: the last snapshot stays served, the agent reconnects and resumes", async () => {
  const d = daemons();
  const { source, agent, lines } = await startAgent(d, { initialDelayMs: 10 });
  await agent.tick();
  d.servers[0]!.transport.drop(new Error("libvirtd restarted"));
  assert.equal(source.connection().connected, false);
  await agent.tick(); // while down: fails fast, snapshot kept and marked
  assert.equal(agent.snapshot()!.domains[0]!.stats.status, "missing");
  assert.equal(agent.status.consecutiveFailures, 1);
  await connected(source, 2);
  await agent.tick();
  const snap = agent.snapshot()!;
  assert.equal(snap.domains[0]!.stats.status, "ok");
  assert.equal(snap.host.hostname, "hv2", "host info re-read on the new connection");
  const msgs = lines.map((l) => l.msg);
  assert.ok(msgs.includes("bulk stats call failed; serving the last snapshot marked stale"));
  assert.ok(msgs.includes("bulk stats call works again"));
  await agent.stop();
});

test("a daemon that never answers the bulk call: the call times out, is retried once, the agent stays up", async () => {
  let hang = true;
  const d = daemons({ hangStats: () => hang });
  const { agent } = await startAgent(d, { timeoutMs: 100 });
  const t0 = performance.now();
  await agent.tick();
  assert.ok(performance.now() - t0 < 1000);
  assert.equal(d.statsCalls.length, 2, "first call + one retry");
  assert.match(agent.status.lastError!, /timed out|no answer/);
  hang = false;
  await agent.tick();
  assert.equal(agent.snapshot()!.domains.length, 1);
  await agent.stop();
});
