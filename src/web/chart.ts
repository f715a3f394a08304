/**
 * One time-series chart (uPlot) of one or more API series queries: counters turned into per-second rates,
 * ratios of two metrics (a filesystem's used / size; a disk's time per request as a ratio of two rates), notes
 * under it from what it drew (a forecast), a unit on the y axis, the lifecycle events as marks on
 * the time axis, a cursor shared with the page's other charts, and drag to zoom. A failed query shows its error
 * in place with a retry; no data says so.
 */
import uPlot from "uplot";
import type { ApiClient } from "../api/client.ts";
import type { RangeAnswer, StoredEvent } from "../api/types.ts";
import { h, fill } from "./dom.ts";
import { formatters, type Unit } from "./format.ts";
import { align, divided, type NamedPoints, rated } from "./series.ts";

export interface ChartQuery {
  metric: string;
  /** Extra matchers besides the domain's (`mode!=idle`). */
  match?: string[];
  /** A counter: plot its per-second rate. */
  rate?: boolean;
  /** Divide by this metric's series with the same labels (used / size); with `rate`, rate by rate (latency). */
  divideBy?: string;
  /** The legend name of one answered series. */
  name: (labels: Record<string, string>) => string;
}

export interface ChartSpec {
  id: string;
  title: string;
  unit: Unit;
  queries: ChartQuery[];
  /** What an empty chart means and what to do. */
  empty: string;
  /** Notes under the plot from the series drawn (a forecast). */
  note?: (series: NamedPoints[]) => Node | null;
}

export interface TimeRange {
  start: number;
  end: number;
}

const HEIGHT = 220;
const PALETTE = ["#3b82f6", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#ec4899", "#14b8a6", "#84cc16"];

function css(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888";
}

/** What every kvmon chart shares: its size, a live legend, one coloured line per series, the unit on the y axis. */
export function plotOptions(
  unit: Unit,
  width: number,
  found: NamedPoints[],
  /** Sees the y axis' tick labels (charts keep them in `data-y-ticks`: the canvas' text is not in the DOM). */
  onTicks: (labels: string[]) => string[] = (labels) => labels,
): uPlot.Options {
  const fmt = formatters[unit];
  // Colors read at each draw, so a theme switch redraws in the new one.
  const axis = {
    stroke: () => css("--muted"),
    grid: { stroke: () => css("--grid"), width: 1 },
    ticks: { show: false },
  };
  return {
    width: width || 600,
    height: HEIGHT,
    legend: { live: true },
    series: [
      {},
      ...found.map((s, i) => ({
        label: s.name,
        stroke: PALETTE[i % PALETTE.length],
        width: 1.5,
        value: (_u: uPlot, v: number | null) => fmt(v),
        spanGaps: false,
      })),
    ],
    axes: [axis, { ...axis, size: 80, values: (_u: uPlot, splits: number[]) => onTicks(splits.map(fmt)) }],
  };
}

export class Chart {
  readonly el: HTMLElement;
  private plot: uPlot | null = null;
  private readonly body: HTMLElement;
  private readonly notes: HTMLElement;
  private readonly resize = new ResizeObserver(() => {
    if (this.plot) this.plot.setSize({ width: this.body.clientWidth, height: HEIGHT });
  });
  /** The theme changes with the toggle (`data-theme`) or the system's scheme: redraw in its colors. */
  private readonly theme = new MutationObserver(() => this.redraw());
  private readonly scheme = matchMedia("(prefers-color-scheme: dark)");
  private readonly redraw = () => this.plot?.redraw(false, false);

  private readonly spec: ChartSpec;
  private readonly client: ApiClient;
  private readonly matchers: string[];
  private readonly syncKey: string;
  private readonly onZoom: (r: TimeRange) => void;

  constructor(
    spec: ChartSpec,
    client: ApiClient,
    matchers: string[],
    syncKey: string,
    onZoom: (r: TimeRange) => void,
  ) {
    this.spec = spec;
    this.client = client;
    this.matchers = matchers;
    this.syncKey = syncKey;
    this.onZoom = onZoom;
    this.body = h("div", { class: "chart-body" });
    this.notes = h("div", { class: "chart-notes" });
    this.el = h(
      "section",
      { class: "card chart", "data-chart": spec.id },
      h("h2", {}, spec.title),
      this.body,
      this.notes,
    );
    this.resize.observe(this.body);
    this.theme.observe(document.documentElement, { attributeFilter: ["data-theme"] });
    this.scheme.addEventListener("change", this.redraw);
  }

  async load(range: TimeRange, events: readonly StoredEvent[]): Promise<void> {
    this.el.dataset.state = "loading";
    this.notes.replaceChildren();
    this.el.dataset.range = JSON.stringify(range);
    let found: NamedPoints[];
    try {
      found = (await Promise.all(this.spec.queries.map((q) => this.query(q, range)))).flat();
    } catch (e) {
      this.destroyPlot();
      this.el.dataset.state = "error";
      fill(
        this.body,
        h(
          "div",
          { class: "chart-msg error", role: "alert" },
          `This chart's query failed: ${(e as Error).message} `,
          h("button", { type: "button", onclick: () => void this.load(range, events) }, "Retry"),
        ),
      );
      return;
    }
    found = found.filter((s) => s.points.length > 0);
    this.el.dataset.names = JSON.stringify(found.map((s) => s.name));
    this.el.dataset.last = JSON.stringify(found.map((s) => s.points[s.points.length - 1]));
    if (found.length === 0) {
      this.destroyPlot();
      this.el.dataset.state = "empty";
      fill(this.body, h("div", { class: "chart-msg muted" }, this.spec.empty));
      return;
    }
    this.el.dataset.state = "ok";
    this.draw(found, range, events);
    fill(this.notes, this.spec.note?.(found));
  }

  private async query(q: ChartQuery, range: TimeRange): Promise<NamedPoints[]> {
    const match = [...this.matchers, ...(q.match ?? [])];
    const ask = (metric: string) =>
      this.client.series({ metric, match, start: range.start, end: range.end, agg: q.rate ? "last" : "avg" });
    const [num, den] = await Promise.all([ask(q.metric), q.divideBy ? ask(q.divideBy) : null]);
    const asked = (a: RangeAnswer) => (q.rate ? rated(a) : a);
    const series = den ? divided(asked(num), asked(den)) : asked(num).series;
    return series.map((s) => ({ name: q.name(s.labels), points: s.points }));
  }

  private draw(found: NamedPoints[], range: TimeRange, events: readonly StoredEvent[]) {
    this.destroyPlot();
    this.body.replaceChildren();
    const marks = events.map((e) => ({ t: e.time / 1000, type: e.type }));
    const opts: uPlot.Options = {
      ...plotOptions(this.spec.unit, this.body.clientWidth, found, (labels) => this.ticks(labels)),
      cursor: { sync: { key: this.syncKey }, drag: { x: true, y: false } },
      scales: { x: { time: true, min: range.start, max: range.end } },
      hooks: {
        setSelect: [
          (u) => {
            if (u.select.width < 5) return;
            const start = u.posToVal(u.select.left, "x");
            const end = u.posToVal(u.select.left + u.select.width, "x");
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            this.onZoom({ start, end });
          },
        ],
        draw: [
          (u) => {
            const g = u.ctx;
            g.save();
            g.strokeStyle = css("--event");
            g.fillStyle = css("--event");
            g.setLineDash([4, 3]);
            g.font = `${11 * devicePixelRatio}px sans-serif`;
            for (const m of marks) {
              if (m.t < range.start || m.t > range.end) continue;
              const x = Math.round(u.valToPos(m.t, "x", true));
              g.beginPath();
              g.moveTo(x, u.bbox.top);
              g.lineTo(x, u.bbox.top + u.bbox.height);
              g.stroke();
              g.fillText(m.type, x + 3, u.bbox.top + 12 * devicePixelRatio);
            }
            g.restore();
          },
        ],
      },
    };
    this.plot = new uPlot(opts, align(found.map((s) => s.points)), this.body);
  }

  /** The y axis' labels, also kept on the element (`data-y-ticks`): the canvas' text is not in the DOM. */
  private ticks(labels: string[]): string[] {
    this.el.dataset.yTicks = JSON.stringify(labels);
    return labels;
  }

  private destroyPlot(): void {
    this.plot?.destroy();
    this.plot = null;
  }

  destroy(): void {
    this.resize.disconnect();
    this.theme.disconnect();
    this.scheme.removeEventListener("change", this.redraw);
    this.destroyPlot();
  }
}
