/**
 * Runs collectors timed and isolated (node_exporter's framework): each collector is timed over all domains;
 * an exception is caught per collector AND per domain, so one throwing collector or one malformed domain
 * record loses only that collector's section of that domain. Failures are returned for the caller to log
 * (deduplicated) and exported as kvmon_collector_success / kvmon_collector_failed_domains.
 */
import { performance } from "node:perf_hooks";
import type { CollectorRun, DomainSample, HostSample } from "../model/types.ts";
import type { DomainCollector, DomainInput, HostCollector, HostInput } from "./types.ts";

export interface CollectorFailure {
  collector: string;
  /** UUID of the domain the failure concerns; undefined for host collectors. */
  uuid?: string;
  domain?: string;
  error: Error;
}

export interface DomainJob {
  input: DomainInput;
  out: DomainSample;
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

export function runDomainCollectors(
  list: readonly DomainCollector[],
  jobs: readonly DomainJob[],
  failures: CollectorFailure[],
): CollectorRun[] {
  return list.map((c) => {
    const start = performance.now();
    let failed = 0;
    let firstError: string | null = null;
    for (const job of jobs) {
      try {
        c.collect(job.input, job.out);
      } catch (e) {
        failed++;
        const error = asError(e);
        firstError ??= error.message;
        failures.push({ collector: c.name, uuid: job.out.uuid, domain: job.out.name, error });
      }
    }
    return {
      name: c.name,
      durationSeconds: (performance.now() - start) / 1000,
      success: failed === 0,
      failedDomains: failed,
      error: firstError,
    };
  });
}

export async function runHostCollectors(
  list: readonly HostCollector[],
  input: HostInput,
  out: HostSample,
  failures: CollectorFailure[],
): Promise<CollectorRun[]> {
  const runs: CollectorRun[] = [];
  for (const c of list) {
    const start = performance.now();
    let error: Error | null = null;
    try {
      await c.collect(input, out);
    } catch (e) {
      error = asError(e);
      failures.push({ collector: c.name, error });
    }
    runs.push({
      name: c.name,
      durationSeconds: (performance.now() - start) / 1000,
      success: error === null,
      failedDomains: 0,
      error: error?.message ?? null,
    });
  }
  return runs;
}
