/**
 * uPlot against Chart.js in headless Chromium (Debian's, through playwright-core): the same data drawn by
 * each, in one run, alternating which goes first, a fresh page per draw. Per case: the median time from the
 * first constructor call to the second frame after it, the JS heap after (CDP, after a forced GC), and each
 * library's size as esbuild bundles it (minified, gzipped). Prints one markdown table per measure.
 * Usage: node bench/web/charts.ts [--rounds 9]
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import type { Browser } from "playwright-core";
import { launchChromium } from "../../test/web-helpers.ts";
import { benchArgs, logger } from "../lib/cli.ts";
import { f2, median, ratio } from "../lib/stats.ts";
import type { Bench, Case } from "./case.ts";

const opt = benchArgs("bench/web/charts.ts", { numbers: { rounds: 9 } });
const log = logger("charts");

const CASES: Record<string, Case> = {
  "1 x 10 000 points": { charts: 1, series: 1, points: 10_000, width: 1000, height: 300 },
  "8 x 2 880 points (30 days)": { charts: 1, series: 8, points: 2_880, width: 1000, height: 300 },
  "24 charts x 4 x 250 points": { charts: 24, series: 4, points: 250, width: 300, height: 150 },
};

/** Each library: its page, and the module whose bundle is its size (Chart.js with its components registered). */
const LIBS = {
  uPlot: { page: "uplot.ts", module: "uplot" },
  "Chart.js": { page: "chartjs.ts", module: "./chartjs-lib.ts" },
} as const;
type Lib = keyof typeof LIBS;
const PEER: Lib = "Chart.js";

const pages = join(import.meta.dirname, "pages");

/** The library alone, bundled and minified as the dashboard's build does, in gzipped KB. */
async function bundleKb(module: string): Promise<number> {
  const out = await build({
    stdin: { contents: `export * from "${module}";`, resolveDir: pages, loader: "ts" },
    bundle: true,
    minify: true,
    format: "esm",
    write: false,
    legalComments: "none",
  });
  return gzipSync(out.outputFiles[0]!.contents).length / 1024;
}

/** Each library's page (an IIFE bundle in an HTML file) in dir; answers its file:// URL. */
async function buildPage(dir: string, lib: Lib): Promise<string> {
  const js = join(dir, `${LIBS[lib].page}.js`);
  await build({ entryPoints: [join(pages, LIBS[lib].page)], bundle: true, minify: true, outfile: js });
  const html = join(dir, `${LIBS[lib].page}.html`);
  await writeFile(
    html,
    `<!doctype html><meta charset="utf-8"><body style="margin:0"><script>${await readFile(js, "utf8")}</script>`,
  );
  return pathToFileURL(html).href;
}

/** One draw on a fresh page: milliseconds to the first frame, and the JS heap (MB) after a GC. */
async function drawOnce(browser: Browser, url: string, c: Case): Promise<{ ms: number; heapMb: number }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  try {
    await page.goto(url);
    const ms = await page.evaluate((c) => (globalThis as unknown as { bench: Bench }).bench(c), c);
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Performance.enable");
    await cdp.send("HeapProfiler.collectGarbage");
    const { metrics } = await cdp.send("Performance.getMetrics");
    const heap = metrics.find((m) => m.name === "JSHeapUsedSize")?.value ?? Number.NaN;
    return { ms, heapMb: heap / 2 ** 20 };
  } finally {
    await page.close();
  }
}

const dir = await mkdtemp(join(tmpdir(), "kvmon-charts-"));
const browser = await launchChromium();
try {
  const libs = Object.keys(LIBS) as Lib[];
  const urls = Object.fromEntries(await Promise.all(libs.map(async (l) => [l, await buildPage(dir, l)])));
  const kb = Object.fromEntries(
    await Promise.all(libs.map(async (l) => [l, await bundleKb(LIBS[l].module)])),
  );
  const ms: Record<string, number[]> = {};
  const heap: Record<string, number[]> = {};
  const load = [loadavg()[0]!];
  for (let round = 0; round < opt.rounds; round++) {
    for (const [name, c] of Object.entries(CASES)) {
      for (const lib of round % 2 ? [...libs].reverse() : libs) {
        const r = await drawOnce(browser, urls[lib]!, c);
        (ms[`${lib}|${name}`] ??= []).push(r.ms);
        (heap[`${lib}|${name}`] ??= []).push(r.heapMb);
      }
    }
    load.push(loadavg()[0]!);
    log(`round ${round + 1}/${opt.rounds} done, load ${f2(load.at(-1)!)}`);
  }
  const table = (title: string, unit: string, value: (lib: Lib, name: string) => number) => {
    console.log(
      `\n${title}\n\n| case | uPlot ${unit} | ${PEER} ${unit} | ${PEER}/uPlot |\n|---|---|---|---|`,
    );
    for (const name of Object.keys(CASES)) {
      const [u, p] = [value("uPlot", name), value(PEER, name)];
      console.log(`| ${name} | ${f2(u)} | ${f2(p)} | ${ratio(p, u)} |`);
    }
  };
  console.log(
    `Chromium ${browser.version()}, ${opt.rounds} rounds, 1-min load average ${f2(Math.min(...load))}..${f2(Math.max(...load))}`,
  );
  table("Create to first frame (median)", "ms", (lib, name) => median(ms[`${lib}|${name}`]!));
  table("JS heap after the draw, after a GC (median)", "MB", (lib, name) => median(heap[`${lib}|${name}`]!));
  console.log(
    `\nThe library alone, bundled by esbuild (minified, gzipped)\n\n| | uPlot KB | ${PEER} KB | ${PEER}/uPlot |\n|---|---|---|---|`,
  );
  console.log(`| bundle | ${f2(kb.uPlot!)} | ${f2(kb[PEER]!)} | ${ratio(kb[PEER]!, kb.uPlot!)} |`);
} finally {
  await browser.close();
  await rm(dir, { recursive: true, force: true });
}
