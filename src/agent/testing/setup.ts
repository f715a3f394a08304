/** Test helper: an Agent over a FakeSource with a hand-driven clock and captured log lines. */
import { collectors as registered } from "../../collectors/registry.ts";
import type { Collector, DomainTarget } from "../../collectors/types.ts";
import { Agent } from "../agent.ts";
import { Logger, ProblemLog } from "../log.ts";
import { FakeSource } from "./fake-source.ts";

export function testAgent(
  opts: {
    collectors?: readonly Collector[];
    intervalMs?: number;
    timeoutMs?: number;
    socketGuests?: readonly DomainTarget[];
  } = {},
) {
  const source = new FakeSource();
  const lines: Record<string, unknown>[] = [];
  const clock = { now: 1_800_000_000_000 };
  const logger = new Logger(
    (l) => lines.push(JSON.parse(l)),
    "debug",
    () => clock.now,
  );
  const problems = new ProblemLog(logger, () => clock.now);
  const agent = new Agent({
    source,
    collectors: opts.collectors ?? registered,
    intervalMs: opts.intervalMs ?? 10_000,
    timeoutMs: opts.timeoutMs ?? 5_000,
    socketGuests: opts.socketGuests,
    logger,
    problems,
    identity: { hostname: "agent-host", hostUuid: "4c4c4544-0042-3510-8052-b4c04f4b4e32" },
    clock: () => clock.now,
  });
  return { agent, source, lines, clock };
}
