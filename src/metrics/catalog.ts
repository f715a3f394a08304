/**
 * The metric catalog: how a metric family is declared, and how samples of it are emitted. Knows nothing of
 * libvirt, collectors or HTTP, so the agent, the future fleet server and the web share one set of names.
 *
 * One way to declare a family:
 *   const used = gauge("kvmon_domain_memory_used_bytes", "Memory used inside the guest.", {
 *     source: "balloon.available − balloon.usable (KiB)",
 *   });
 *   const reads = counter("kvmon_domain_block_read_bytes_total", "Bytes read.", {
 *     labels: ["device"],
 *     source: "block.N.rd.bytes",
 *   });
 */

export type MetricType = "gauge" | "counter";

/** One metric family: what /metrics prints in HELP/TYPE and what docs/agent.md lists. */
export interface MetricSpec {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  /** Labels besides the ones the emitter adds to every series (`domain` and `uuid` for domain metrics). */
  readonly labels: readonly string[];
  /** Where the value comes from (bulk stat field, XML element, computation), for the docs. */
  readonly source: string;
}

export interface MetricOptions {
  /** The family's own labels, in the order values are emitted; none by default. */
  labels?: readonly string[];
  source: string;
}

/** A gauge: a value that goes up and down. @example gauge("kvmon_host_cpus", "Active host CPUs.", { source: "virNodeGetInfo cpus" }) */
export function gauge(name: string, help: string, opts: MetricOptions): MetricSpec {
  return { name, type: "gauge", help, labels: opts.labels ?? [], source: opts.source };
}

/** A counter: a cumulative total that only resets when its producer restarts; the name ends in `_total`. */
export function counter(name: string, help: string, opts: MetricOptions): MetricSpec {
  return { name, type: "counter", help, labels: opts.labels ?? [], source: opts.source };
}

/** Emits one sample of a declared family; label values in the order of `spec.labels`. */
export type Emit = (spec: MetricSpec, value: number, labelValues?: readonly string[]) => void;

/** A field that may be missing (null when its producer did not report it): a gauge value or a counter. */
export type Reading = number | { total: number } | null | undefined;

/**
 * `emit` for fields that may be missing: emits a gauge's value or a counter's total, and nothing for null or
 * undefined, so an unreported field is an absent series rather than a false 0.
 */
export function emitPresent(
  emit: Emit,
): (spec: MetricSpec, value: Reading, labelValues?: readonly string[]) => void {
  return (spec, value, labelValues) => {
    if (value === null || value === undefined) return;
    emit(spec, typeof value === "number" ? value : value.total, labelValues);
  };
}
