/** The KVM exit tracer service: per-domain tracing runs over a private tracefs instance (issue 12). */
export * from "./errors.ts";
export * from "./classify.ts";
export * from "./domain-trace.ts";
export * from "./recent-ring.ts";
export * from "./page-counter.ts";
export * from "./vcpu-threads.ts";
export * from "./tracer.ts";
export * from "./metrics.ts";
/** Its answers (counts, recent events, status): declared in the model, shared with the API client. */
export type * from "../model/trace.ts";
