/**
 * The in-page half of bench/web/charts.ts, shared by both libraries' pages: it makes the data (outside the
 * timer, in each library's own format), then times creating the charts until their first frame is on screen.
 */
import { rng } from "../../../src/shared/testing/rng.ts";
import type { Bench, Case } from "../case.ts";

/** One chart's data as columns: x in Unix seconds at 15-min steps, one y array per series (a random walk). */
export interface Columns {
  x: number[];
  ys: number[][];
}

declare global {
  interface Window {
    bench: Bench;
  }
}

const STEP_S = 900;

function columns(c: Case, chart: number): Columns {
  const next = rng(chart + 1);
  const end = 1_767_225_600;
  const x = Array.from({ length: c.points }, (_, i) => end - (c.points - 1 - i) * STEP_S);
  const ys = Array.from({ length: c.series }, () => {
    let v = 50;
    return x.map(() => (v = Math.min(100, Math.max(0, v + (next() - 0.5) * 8))));
  });
  return { x, ys };
}

const frame = () => new Promise((resolve) => requestAnimationFrame(resolve));

/** Installs window.bench for a library: `prepare` converts the data (untimed), `draw` creates one chart. */
export function serve<T>(prepare: (data: Columns) => T, draw: (el: HTMLElement, data: T, c: Case) => void) {
  window.bench = async (c) => {
    const data = Array.from({ length: c.charts }, (_, i) => prepare(columns(c, i)));
    const els = data.map(() => {
      const el = document.createElement("div");
      el.style.cssText = `display:inline-block;width:${c.width}px;height:${c.height}px`;
      return document.body.appendChild(el);
    });
    await frame();
    const t0 = performance.now();
    data.forEach((d, i) => draw(els[i]!, d, c));
    await frame();
    await frame();
    return performance.now() - t0;
  };
}
