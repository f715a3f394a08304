/**
 * A SeriesStore over a Prometheus-compatible TSDB's HTTP API (issue 14, scale-out b): the server keeps no
 * samples itself and answers every query from the TSDB, so the API, the dashboard and the engine calls work the
 * same on a fleet too big for one machine.
 *
 * Raw samples come from VictoriaMetrics' `/api/v1/export` (JSON lines, every sample in the range); a plain
 * Prometheus has no export, so there `select` runs the instant query `selector[range]` at the range's end, which
 * also returns raw samples. Series, label names and label values use the standard endpoints. `append` writes
 * VictoriaMetrics' `/api/v1/import` JSON lines (remote_write, the agent's codec, can replace it).
 */
import { TimeoutError } from "../../../shared/errors.ts";
import type { Labels, Matcher, Series, SeriesStore, TimeRange } from "../types.ts";
import { TsdbError } from "./errors.ts";

export interface PrometheusStoreOptions {
  /** Base URL of the TSDB, e.g. http://127.0.0.1:8428 (VictoriaMetrics) or http://prom:9090. */
  readonly url: string;
  /** VictoriaMetrics has /api/v1/export and /api/v1/import; a plain Prometheus has neither. */
  readonly flavor?: "victoria-metrics" | "prometheus";
  /** Deadline of one HTTP call. */
  readonly timeoutMs?: number;
  /** Sent with every request (e.g. Authorization). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** The earliest and latest times sent: VictoriaMetrics refuses times before 1970 and far in the future. */
const MIN_MS = 0;
const MAX_MS = 4_102_444_800_000; // 2100-01-01

export class PrometheusStore implements SeriesStore {
  readonly #base: string;
  readonly #flavor: "victoria-metrics" | "prometheus";
  readonly #timeoutMs: number;
  readonly #headers: Readonly<Record<string, string>>;

  constructor(opts: PrometheusStoreOptions) {
    this.#base = opts.url.replace(/\/+$/, "");
    this.#flavor = opts.flavor ?? "victoria-metrics";
    this.#timeoutMs = opts.timeoutMs ?? 30_000;
    this.#headers = opts.headers ?? {};
  }

  async append(batch: readonly Series[]): Promise<void> {
    if (this.#flavor !== "victoria-metrics") {
      throw new TsdbError("TSDB_UNSUPPORTED", "append to a plain Prometheus needs remote_write", {
        hint: "use the remote_write forwarder, or storage = a VictoriaMetrics URL",
      });
    }
    const lines = batch
      .filter((s) => s.samples.length > 0)
      .map((s) =>
        JSON.stringify({
          metric: s.labels,
          values: s.samples.map((x) => x.v),
          timestamps: s.samples.map((x) => x.t),
        }),
      );
    if (lines.length === 0) return;
    await this.#call("/api/v1/import", { method: "POST", body: lines.join("\n") + "\n" });
  }

  async select(matchers: readonly Matcher[], range: TimeRange): Promise<Series[]> {
    const selector = formatSelector(matchers);
    const inside = (t: number): boolean => t >= range.startMs && t <= range.endMs;
    if (this.#flavor === "prometheus") {
      const rangeMs = Math.max(1, range.endMs - range.startMs);
      const data = await this.#json("/api/v1/query", {
        query: `${selector}[${rangeMs}ms]`,
        time: seconds(range.endMs),
      });
      const result = (data as { result?: unknown }).result;
      if (!Array.isArray(result))
        throw new TsdbError("TSDB_BAD_RESPONSE", "query answered without a result list");
      return result
        .map((r: { metric: Labels; values: [number, string][] }) => ({
          labels: r.metric,
          samples: r.values
            .map(([t, v]) => ({ t: Math.round(t * 1000), v: Number(v) }))
            .filter((s) => inside(s.t)),
        }))
        .filter((s) => s.samples.length > 0);
    }
    const body = await this.#call(`/api/v1/export?${this.#query(matchers, range)}`, { method: "GET" });
    const out: Series[] = [];
    for (const line of body.split("\n")) {
      if (line.trim() === "") continue;
      const row = parseExportLine(line);
      const samples = row.timestamps
        .map((t, i) => ({ t, v: row.values[i] ?? NaN }))
        .filter((s) => inside(s.t))
        .sort((a, b) => a.t - b.t);
      if (samples.length > 0) out.push({ labels: row.metric, samples });
    }
    return out;
  }

  async series(matchers: readonly Matcher[], range: TimeRange): Promise<Labels[]> {
    const data = await this.#json(`/api/v1/series?${this.#query(matchers, range)}`);
    if (!Array.isArray(data)) throw new TsdbError("TSDB_BAD_RESPONSE", "series answered without a list");
    return data as Labels[];
  }

  async labelNames(matchers: readonly Matcher[], range: TimeRange): Promise<string[]> {
    return this.#stringList(`/api/v1/labels?${this.#query(matchers, range, false)}`);
  }

  async labelValues(name: string, matchers: readonly Matcher[], range: TimeRange): Promise<string[]> {
    return this.#stringList(
      `/api/v1/label/${encodeURIComponent(name)}/values?${this.#query(matchers, range, false)}`,
    );
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** match[], start and end; with no matchers, every series (`{__name__=~".+"}`) unless `needsMatch` is false. */
  #query(matchers: readonly Matcher[], range: TimeRange, needsMatch = true): string {
    const q = new URLSearchParams();
    if (matchers.length > 0) q.set("match[]", formatSelector(matchers));
    else if (needsMatch) q.set("match[]", '{__name__=~".+"}');
    q.set("start", seconds(Math.max(MIN_MS, range.startMs)));
    q.set("end", seconds(Math.min(MAX_MS, range.endMs)));
    return q.toString();
  }

  async #stringList(path: string): Promise<string[]> {
    const data = await this.#json(path);
    if (!Array.isArray(data) || !data.every((x) => typeof x === "string")) {
      throw new TsdbError("TSDB_BAD_RESPONSE", `${path.split("?")[0]} answered without a list of strings`);
    }
    return [...data].sort();
  }

  /** `data` of a Prometheus API envelope; a GET with `params` as its query string when given. */
  async #json(path: string, params?: Record<string, string>): Promise<unknown> {
    const url = params === undefined ? path : `${path}?${new URLSearchParams(params).toString()}`;
    const text = await this.#call(url, { method: "GET" });
    let body: { status?: string; data?: unknown; error?: string };
    try {
      body = JSON.parse(text) as typeof body;
    } catch (e) {
      throw new TsdbError("TSDB_BAD_RESPONSE", `${path.split("?")[0]} answered with invalid JSON`, {
        cause: e,
      });
    }
    if (body.status !== "success") {
      throw new TsdbError("TSDB_ERROR", `${path.split("?")[0]}: ${body.error ?? "status is not success"}`);
    }
    return body.data;
  }

  async #call(path: string, init: { method: string; body?: string }): Promise<string> {
    const what = `${init.method} ${this.#base}${path.split("?")[0]}`;
    let res: Response;
    try {
      res = await fetch(`${this.#base}${path}`, {
        ...init,
        headers: this.#headers,
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (e) {
      if (e instanceof DOMException && e.name === "TimeoutError")
        throw new TimeoutError(what, this.#timeoutMs, { cause: e });
      throw new TsdbError("TSDB_UNREACHABLE", `${what} failed: ${(e as Error).message}`, { cause: e });
    }
    let text: string;
    try {
      text = await res.text();
    } catch (e) {
      if (e instanceof DOMException && e.name === "TimeoutError")
        throw new TimeoutError(what, this.#timeoutMs, { cause: e });
      throw new TsdbError("TSDB_UNREACHABLE", `${what}: reading the answer failed`, { cause: e });
    }
    if (!res.ok) throw new TsdbError("TSDB_ERROR", `${what} answered ${res.status}: ${text.slice(0, 500)}`);
    return text;
  }
}

/** A selector in PromQL text: `{__name__="x",a=~"b"}`; values quoted as JSON strings, which PromQL reads alike. */
export function formatSelector(matchers: readonly Matcher[]): string {
  return `{${matchers.map((m) => `${m.name}${m.op}${JSON.stringify(m.value)}`).join(",")}}`;
}

function seconds(ms: number): string {
  return String(ms / 1000);
}

interface ExportLine {
  metric: Labels;
  values: number[];
  timestamps: number[];
}

function parseExportLine(line: string): ExportLine {
  let row: Partial<ExportLine>;
  try {
    row = JSON.parse(line) as Partial<ExportLine>;
  } catch (e) {
    throw new TsdbError("TSDB_BAD_RESPONSE", "export answered a line that is not JSON", { cause: e });
  }
  if (typeof row.metric !== "object" || !Array.isArray(row.values) || !Array.isArray(row.timestamps)) {
    throw new TsdbError("TSDB_BAD_RESPONSE", "export line lacks metric, values or timestamps");
  }
  return row as ExportLine;
}
