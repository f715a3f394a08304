/**
 * Layout jumps measured in the page: a PerformanceObserver of `layout-shift` entries installed before any of
 * the page's scripts run, summing every shift not caused by input (an upper bound of Cumulative Layout Shift,
 * which takes the worst window of them) and naming the elements that moved, for the failure message. The
 * in-page code is a string: the tests are type-checked without the DOM's types.
 */
import type { BrowserContext, Page } from "playwright-core";

export interface LayoutShifts {
  total: number;
  shifts: Array<{ value: number; at: number; moved: string[] }>;
}

const OBSERVER = `(() => {
  const describe = (n) => {
    if (!(n instanceof Element)) return n ? n.nodeName : "?";
    const cls = typeof n.className === "string" && n.className ? "." + n.className.split(/\\s+/).join(".") : "";
    const data = [...n.attributes].filter((a) => a.name.startsWith("data-")).map((a) => "[" + a.name + "=" + a.value + "]");
    return n.tagName.toLowerCase() + cls + data.join("");
  };
  const rect = (s) =>
    " y " + Math.round(s.previousRect.y) + "->" + Math.round(s.currentRect.y) +
    " h " + Math.round(s.previousRect.height) + "->" + Math.round(s.currentRect.height);
  const shifts = (window.__kvmonShifts = []);
  new PerformanceObserver((list) => {
    for (const e of list.getEntries())
      if (!e.hadRecentInput)
        shifts.push({ value: e.value, at: Math.round(e.startTime), moved: e.sources.map((s) => describe(s.node) + rect(s)) });
  }).observe({ type: "layout-shift", buffered: true });
})();`;

export async function watchLayoutShifts(context: BrowserContext): Promise<void> {
  await context.addInitScript({ content: OBSERVER });
}

export async function layoutShifts(page: Page): Promise<LayoutShifts> {
  const shifts = (await page.evaluate("window.__kvmonShifts")) as LayoutShifts["shifts"];
  return { total: shifts.reduce((a, s) => a + s.value, 0), shifts };
}
