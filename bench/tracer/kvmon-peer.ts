/**
 * kvmon's tracer as a process of its own, for bench/tracer/run.ts (so its CPU is metered in a cgroup apart
 * from the bench): src/tracer's Tracer, switched on for one domain with the given events, as the agent's
 * POST /api/v1/trace does. Prints "ready" when on; on SIGINT switches off (a last read of the buffers), prints
 * one JSON line {events: {name: count}, lost, read, unmatched, polls, cpuSeconds} and exits.
 * Run: node bench/tracer/kvmon-peer.ts DOMAIN BUFFER_KB EVENT...
 */
import { Tracer } from "../../src/tracer/index.ts";

const [domain, bufferKb, ...events] = process.argv.slice(2);
if (!domain || !bufferKb || events.length === 0) {
  process.stderr.write("usage: kvmon-peer.ts DOMAIN BUFFER_KB EVENT...\n");
  process.exit(2);
}
const tracer = new Tracer({
  maxDurationSeconds: 600,
  ringSize: 1024,
  bufferKb: Number(bufferKb),
  onError: (what, e) => process.stderr.write(`[kvmon-peer] ${what}: ${(e as Error).message}\n`),
});
process.once("SIGINT", () => {
  void tracer.close().then(() => {
    const { health } = tracer.status();
    const counts = tracer.counts(domain);
    process.stdout.write(
      JSON.stringify({
        events: Object.fromEntries(Object.entries(counts?.events ?? {}).map(([e, c]) => [e, c.count])),
        lost: health.eventsLost,
        read: health.eventsRead,
        unmatched: health.eventsUnmatched,
        polls: health.polls,
        cpuSeconds: health.cpuSeconds,
      }) + "\n",
    );
  });
});
await tracer.on({ domains: [domain], events, durationSeconds: 600 });
process.stdout.write("ready\n");
