/**
 * GET /api/v1/domains over every host's latest snapshot: filters (host, state, name with `*` wildcards, labels
 * from the domain's metadata), sort by any numeric field of the domain sample (`cpu.hostCpuRatio`, `-` first for
 * descending, unknown values last), top-N and paging with offset + limit. Sortable fields come from the model's
 * zod schema, so a field added to the model is sortable without a change here, and a typo is a 400 listing them.
 */
import { z } from "zod";
import { domainSampleSchema } from "../../model/schema.ts";
import { ALL_STATE_NAMES } from "../../model/state.ts";
import type { DomainSample, Snapshot } from "../../model/types.ts";
import { BadRequestError } from "./errors.ts";

export const MAX_PAGE = 1000;

/** Dotted paths of every number in a domain sample outside arrays and maps (`cpu.timeSeconds.perSecond`). */
export const SORT_FIELDS: readonly string[] = (() => {
  const out: string[] = [];
  const walk = (s: Record<string, unknown>, path: string[]): void => {
    for (const alt of (s.anyOf as Array<Record<string, unknown>> | undefined) ?? []) walk(alt, path);
    const types = [s.type].flat();
    if (types.includes("number") || types.includes("integer")) out.push(path.join("."));
    const props = s.properties as Record<string, Record<string, unknown>> | undefined;
    for (const [k, v] of Object.entries(props ?? {})) walk(v, [...path, k]);
  };
  walk(z.toJSONSchema(domainSampleSchema, { unrepresentable: "any", reused: "inline" }), []);
  return [...new Set(out)].sort();
})();

const nameText = z.string().min(1).max(256);
/** Labels a domain carries for filtering: its metadata's, as the metric catalog names them. */
function labelsOf(d: DomainSample): Record<string, string | null> {
  const n = d.metadata?.nova;
  return {
    title: d.metadata?.title ?? null,
    instance_name: n?.instanceName ?? null,
    project_name: n?.projectName ?? null,
    project_id: n?.projectUuid ?? null,
    user_name: n?.userName ?? null,
    user_id: n?.userUuid ?? null,
    flavor: n?.flavorName ?? null,
  };
}

const labelFilter = z
  .string()
  .regex(/^[a-z_]+=.*$/, "must be name=value")
  .refine((s) => s.split("=")[0]! in labelsOf({ metadata: null } as DomainSample), {
    message:
      "names an unknown label (title, instance_name, project_name, project_id, user_name, user_id, flavor)",
  });

export const domainsQuery = z
  .object({
    host: nameText.optional(),
    state: z.enum(ALL_STATE_NAMES).optional(),
    name: nameText.optional().describe("exact name, or a pattern with * wildcards"),
    label: z.union([labelFilter, z.array(labelFilter)]).optional(),
    sort: z
      .string()
      .refine((s) => SORT_FIELDS.includes(s.replace(/^-/, "")), {
        message: `must be a numeric field of the domain sample, '-' first for descending (${SORT_FIELDS.slice(0, 8).join(", ")}, ...; GET /api/v1/openapi.json lists all)`,
      })
      .optional(),
    limit: z.coerce.number().int().min(1).max(MAX_PAGE).default(100),
    offset: z.coerce.number().int().min(0).default(0),
  })
  .strict();

export type DomainsQuery = z.infer<typeof domainsQuery>;
export type FleetDomain = DomainSample & { host: string };

function valueAt(d: DomainSample, path: string): number | null {
  let v: unknown = d;
  for (const k of path.split("."))
    v = v !== null && typeof v === "object" ? (v as Record<string, unknown>)[k] : null;
  return typeof v === "number" ? v : null;
}

function globMatcher(pattern: string): (s: string) => boolean {
  if (!pattern.includes("*")) return (s) => s === pattern;
  const re = new RegExp(
    `^${pattern
      .split("*")
      .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*")}$`,
  );
  return (s) => re.test(s);
}

export function listDomains(
  snapshots: ReadonlyArray<{ host: string; snapshot: Snapshot }>,
  q: DomainsQuery,
): { total: number; offset: number; limit: number; domains: FleetDomain[] } {
  const nameOk = q.name === undefined ? () => true : globMatcher(q.name);
  const labels = [q.label ?? []].flat().map((l) => {
    const i = l.indexOf("=");
    return [l.slice(0, i), l.slice(i + 1)] as const;
  });
  let all: FleetDomain[] = [];
  for (const { host, snapshot } of snapshots) {
    if (q.host !== undefined && host !== q.host) continue;
    for (const d of snapshot.domains) {
      if (q.state !== undefined && d.state?.state !== q.state) continue;
      if (!nameOk(d.name)) continue;
      const own = labelsOf(d);
      if (!labels.every(([k, v]) => own[k] === v)) continue;
      all.push({ host, ...d });
    }
  }
  if (q.sort !== undefined) {
    const desc = q.sort.startsWith("-");
    const field = q.sort.replace(/^-/, "");
    const keyed = all.map((d) => ({ d, v: valueAt(d, field) }));
    keyed.sort((a, b) => {
      if (a.v === null || b.v === null) return a.v === null ? (b.v === null ? 0 : 1) : -1;
      return desc ? b.v - a.v : a.v - b.v;
    });
    all = keyed.map((k) => k.d);
  }
  return {
    total: all.length,
    offset: q.offset,
    limit: q.limit,
    domains: all.slice(q.offset, q.offset + q.limit),
  };
}

/** A domain by host and name (or UUID), or a BadRequestError for names no domain can have. */
export function checkedName(what: string, s: string): string {
  if (s.length === 0 || s.length > 256 || /[/\\\0]|^\.\.?$/.test(s))
    throw new BadRequestError(`${what}: '${s.slice(0, 64)}' is not a valid name`);
  return s;
}
