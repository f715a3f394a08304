/**
 * The agent's KVM exit tracer (issue 12): created off at start on the libvirt host (a local URI: the pid files
 * and /proc are ours), after removing the instance a killed agent left (its events would otherwise keep
 * recording into a buffer nobody reads). Without tracefs or root the agent still starts: the tracer's
 * endpoints then answer with the error naming what is missing.
 */
import type { Emit } from "../metrics/catalog.ts";
import { exposeTracer, Tracer } from "../tracer/index.ts";
import type { AgentConfig } from "./config.ts";
import type { Logger } from "./log.ts";

export interface AgentTracer {
  tracer: Tracer;
  expose(emit: Emit): void;
}

/** Only for a local libvirt URI (the caller checks). */
export async function openTracer(config: AgentConfig, logger: Logger): Promise<AgentTracer> {
  const tracer = new Tracer({
    maxDurationSeconds: config.trace.maxDurationSeconds,
    ringSize: config.trace.ringSize,
    bufferKb: config.trace.bufferKb,
    paths: { runDir: config.libvirtRunDir, procRoot: config.procRoot },
    onError: (what, error) => logger.warn("tracer: background work failed", { what, error: String(error) }),
  });
  try {
    const removed = await tracer.removeStale();
    if (removed.length > 0)
      logger.info("tracer: removed instances a killed agent left", { removed: removed.join(",") });
  } catch (e) {
    logger.info("tracer unavailable until tracefs is usable", { error: String(e) });
  }
  return { tracer, expose: (emit) => exposeTracer(tracer, emit) };
}
