/**
 * `POST /api/v1/write`: remote_write 1.0 into the SeriesStore. Checks, in order, so the cheapest refusal comes
 * first: the headers (415), the body size (413, from Content-Length or while reading), the snappy block's
 * declared size (413, before decompressing), the protobuf and the label rules (400), who may write which host
 * (403), the per-host series limit (400 for the new series over it; the others are stored). 204 only once the
 * store has made the samples durable (and the forwarder, when there is one, has spooled them); a store or spool
 * failure is 500, which a sender retries.
 *
 * Status codes follow the spec and Prometheus/VictoriaMetrics: 4xx is never retried by a sender, so a series
 * flood is 400 (retrying cannot help), not 429. The principal comes from the server's auth middleware.
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import {
  decodeWrite,
  type Label,
  LabelSetCache,
  labelsProblem,
  RemoteWriteDecodeError,
  RemoteWriteInvalidError,
  RemoteWriteTooLargeError,
  samplesProblem,
  type TimeSeries,
} from "../../protocol/remote-write/index.ts";
import { KvmonError } from "../../shared/errors.ts";
import type { Labels, Series, SeriesStore } from "../storage/types.ts";
import { type Forwarder, ForwardSpoolError } from "./forward.ts";
import { SeriesLimit } from "./series-limit.ts";

/** Who is calling: set by the auth middleware (shape of src/server/auth/types.ts). */
export type Principal =
  { kind: "host"; host: string } | { kind: "user"; name: string; role: "viewer" | "operator" | "admin" };

export interface IngestLimits {
  /** Compressed body, bytes. */
  maxBodyBytes: number;
  /** Decompressed WriteRequest, bytes (checked against the snappy header before decompressing). */
  maxDecodedBytes: number;
  /** Distinct series one host may write (since the server started). */
  maxSeriesPerHost: number;
}

export const DEFAULT_INGEST_LIMITS: IngestLimits = {
  maxBodyBytes: 16 << 20,
  maxDecodedBytes: 64 << 20,
  maxSeriesPerHost: 100_000,
};

/** Why a request (or part of it) was refused: the `reason` label of the server's reject counter. */
export type RejectReason =
  | "unauthorized"
  | "forbidden_host"
  | "unsupported_media"
  | "too_large"
  | "malformed"
  | "invalid"
  | "series_limit"
  | "store";

export interface WriteRoutesOptions {
  store: SeriesStore;
  limits?: Partial<IngestLimits>;
  /** Called per refusal with the series (or 1 for a whole request) it concerns. */
  onReject?: (reason: RejectReason, count: number, principal: Principal | undefined) => void;
  /** Called after each stored request with its series and sample counts. */
  onAccept?: (host: string, series: number, samples: number) => void;
  /** Forwards the stored series to TSDBs (forward.ts): spooled durably before the 204. */
  forwarder?: Pick<Forwarder, "forward">;
}

class IngestError extends KvmonError {
  override name = "IngestError";
  readonly status: 400 | 401 | 403 | 413 | 415 | 500;
  readonly reason: RejectReason;
  constructor(
    status: IngestError["status"],
    reason: RejectReason,
    code: string,
    message: string,
    cause?: unknown,
  ) {
    super(code, message, { cause });
    this.status = status;
    this.reason = reason;
  }
}

/**
 * What the route needs of a label set: its rule check, `host` label, series-limit key and the store's label
 * record. Worked out once per label set: the decoder's LabelSetCache hands out the same (frozen) Label[] for the
 * same bytes, so a known series costs a WeakMap lookup; the frozen record lets the store find the series by
 * identity too.
 */
interface LabelFacts {
  readonly labels: readonly Label[];
  readonly problem: string | null;
  readonly host: string | undefined;
  readonly key: string;
  readonly record: Labels;
  /** The series limit has admitted it (a label set carries its host: it is admitted for that host). */
  admitted: boolean;
  /** The label set that came after this one in the last request (a sender repeats its order every push). */
  next: LabelFacts | undefined;
}

function labelFacts(labels: readonly Label[]): LabelFacts {
  const record: Record<string, string> = {};
  for (const l of labels) record[l.name] = l.value;
  return {
    labels,
    problem: labelsProblem(labels),
    host: record.host,
    key: labels.map((l) => `${l.name}\xff${l.value}`).join("\xfe"),
    record: Object.freeze(record),
    admitted: false,
    next: undefined,
  };
}

/** Which host the request writes for; a host principal only its own, an admin any (one per request). */
function writerHost(principal: Principal | undefined, facts: readonly LabelFacts[]): string {
  if (!principal)
    throw new IngestError(401, "unauthorized", "UNAUTHORIZED", "no principal: a token is needed");
  if (principal.kind === "user" && principal.role !== "admin")
    throw new IngestError(403, "forbidden_host", "FORBIDDEN", `role ${principal.role} may not write samples`);
  const expected = principal.kind === "host" ? principal.host : facts[0]!.host;
  for (const f of facts) {
    const h = f.host;
    if (h !== expected || h === undefined)
      throw new IngestError(
        403,
        "forbidden_host",
        "FORBIDDEN_HOST",
        `series with host=${JSON.stringify(h ?? null)} in a request for host ${JSON.stringify(expected ?? null)}`,
      );
  }
  return expected!;
}

function toStoreSeries(ts: TimeSeries, facts: LabelFacts): Series {
  return { labels: facts.record, samples: ts.samples.map((s) => ({ t: s.timestamp, v: s.value })) };
}

function checkHeaders(
  contentType: string | undefined,
  encoding: string | undefined,
  version: string | undefined,
) {
  const [type, ...params] = (contentType ?? "").split(";").map((p) => p.trim().toLowerCase());
  // remote_write 2.0 names its message: `proto=io.prometheus.write.v2.Request`; 1.0's is prometheus.WriteRequest.
  const proto = params.find((p) => p.startsWith("proto="))?.slice(6);
  if (type !== "application/x-protobuf" || (proto !== undefined && proto !== "prometheus.writerequest"))
    throw new IngestError(
      415,
      "unsupported_media",
      "UNSUPPORTED_MEDIA_TYPE",
      `Content-Type ${contentType ?? "(none)"}: want application/x-protobuf`,
    );
  if (encoding?.trim().toLowerCase() !== "snappy")
    throw new IngestError(
      415,
      "unsupported_media",
      "UNSUPPORTED_MEDIA_TYPE",
      `Content-Encoding ${encoding ?? "(none)"}: want snappy`,
    );
  // remote_write 2.0 has another message under the same content type: refuse it rather than misread it.
  if (version !== undefined && !version.startsWith("0.1."))
    throw new IngestError(
      415,
      "unsupported_media",
      "UNSUPPORTED_MEDIA_TYPE",
      `X-Prometheus-Remote-Write-Version ${version}: this endpoint speaks 0.1.0`,
    );
}

/** The request's series, each with its label facts; refused when malformed or breaking a rule. */
function decode(
  body: Uint8Array,
  maxDecodedBytes: number,
  labelSets: LabelSetCache,
  factsOf: (labels: readonly Label[]) => LabelFacts,
): { series: TimeSeries[]; facts: LabelFacts[] } {
  try {
    const series = decodeWrite(body, maxDecodedBytes, labelSets);
    let prev: LabelFacts | undefined;
    const facts = series.map((ts, i) => {
      const guess = prev?.next;
      const f = guess !== undefined && guess.labels === ts.labels ? guess : factsOf(ts.labels);
      if (prev !== undefined) prev.next = f;
      prev = f;
      const problem = f.problem ?? samplesProblem(ts.samples);
      if (problem !== null) throw new RemoteWriteInvalidError(i, problem);
      return f;
    });
    return { series, facts };
  } catch (e) {
    if (e instanceof RemoteWriteTooLargeError) throw new IngestError(413, "too_large", e.code, e.message, e);
    if (e instanceof RemoteWriteDecodeError) throw new IngestError(400, "malformed", e.code, e.message, e);
    if (e instanceof RemoteWriteInvalidError) throw new IngestError(400, "invalid", e.code, e.message, e);
    throw e;
  }
}

export function writeRoutes(opts: WriteRoutesOptions): Hono<{ Variables: { principal?: Principal } }> {
  const limits = { ...DEFAULT_INGEST_LIMITS, ...opts.limits };
  const seriesLimit = new SeriesLimit(limits.maxSeriesPerHost);
  const labelSets = new LabelSetCache();
  /** Indexes of the series the host's series limit refuses; only label sets not admitted before are asked. */
  const admit = (host: string, facts: readonly LabelFacts[]): number[] => {
    const unknown: number[] = [];
    facts.forEach((f, i) => {
      if (!f.admitted) unknown.push(i);
    });
    if (unknown.length === 0) return [];
    const { refused } = seriesLimit.admit(
      host,
      unknown.map((i) => facts[i]!.key),
    );
    const refusedSet = new Set(refused);
    unknown.forEach((i, j) => {
      if (!refusedSet.has(j)) facts[i]!.admitted = true;
    });
    return refused.map((j) => unknown[j]!);
  };
  const known = new WeakMap<readonly Label[], LabelFacts>();
  const factsOf = (labels: readonly Label[]) => {
    let f = known.get(labels);
    if (!f) known.set(labels, (f = labelFacts(labels)));
    return f;
  };
  const app = new Hono<{ Variables: { principal?: Principal } }>();
  const tooLarge = () =>
    new IngestError(
      413,
      "too_large",
      "REMOTE_WRITE_TOO_LARGE",
      `body over the limit of ${limits.maxBodyBytes} bytes`,
    );

  app.post(
    "/api/v1/write",
    async (c, next) => {
      checkHeaders(
        c.req.header("content-type"),
        c.req.header("content-encoding"),
        c.req.header("x-prometheus-remote-write-version"),
      );
      await next();
    },
    bodyLimit({
      maxSize: limits.maxBodyBytes,
      onError: () => {
        throw tooLarge();
      },
    }),
    async (c) => {
      const principal = c.get("principal");
      const body = new Uint8Array(await c.req.arrayBuffer());
      const { series, facts } = decode(body, limits.maxDecodedBytes, labelSets, factsOf);
      if (series.length === 0) return c.body(null, 204);
      const host = writerHost(principal, facts);
      const refused = admit(host, facts);
      const refusedSet = new Set(refused);
      const keep = (_: unknown, i: number) => !refusedSet.has(i);
      const admitted = refused.length === 0 ? series : series.filter(keep);
      const admittedFacts = refused.length === 0 ? facts : facts.filter(keep);
      try {
        await opts.store.append(admitted.map((ts, i) => toStoreSeries(ts, admittedFacts[i]!)));
      } catch (e) {
        throw new IngestError(
          500,
          "store",
          "STORE_FAILED",
          `storing the samples failed: ${(e as Error).message}`,
          e,
        );
      }
      try {
        opts.forwarder?.forward(admitted);
      } catch (e) {
        // Not durable for the TSDB: refused so the agent retries (a duplicate for the store, which ignores it).
        if (e instanceof ForwardSpoolError) throw new IngestError(500, "store", e.code, e.message, e);
        throw e;
      }
      let samples = 0;
      for (const ts of admitted) samples += ts.samples.length;
      opts.onAccept?.(host, admitted.length, samples);
      if (refused.length > 0) {
        opts.onReject?.("series_limit", refused.length, principal);
        throw new IngestError(
          400,
          "series_limit",
          "SERIES_LIMIT",
          `${refused.length} new series refused: host ${host} is at its limit of ${limits.maxSeriesPerHost} series (${admitted.length} series stored)`,
        );
      }
      return c.body(null, 204);
    },
  );

  app.onError((err, c) => {
    if (err instanceof IngestError) {
      if (err.reason !== "series_limit") opts.onReject?.(err.reason, 1, c.get("principal"));
      return c.json({ error: { code: err.code, message: err.message } }, err.status);
    }
    return c.json({ error: { code: "INTERNAL", message: err.message } }, 500);
  });
  return app;
}
