// Chart.js with its performance advice applied (chartjs.org/docs/latest/general/performance.html): data given
// as {x, y} points with parsing off and normalized, decimation (min-max) on, animation off, no points drawn,
// spanGaps, fixed x min/max, responsive off.
import { Chart } from "./chartjs-lib.ts";
import { serve } from "./harness.ts";

serve(
  (d) => ({
    min: d.x[0]! * 1000,
    max: d.x.at(-1)! * 1000,
    series: d.ys.map((ys) => ys.map((y, i) => ({ x: d.x[i]! * 1000, y }))),
  }),
  (el, d, c) => {
    const canvas = el.appendChild(document.createElement("canvas"));
    canvas.width = c.width;
    canvas.height = c.height;
    new Chart(canvas, {
      type: "line",
      data: {
        datasets: d.series.map((data) => ({ data, borderColor: "#3b82f6", borderWidth: 1, pointRadius: 0 })),
      },
      options: {
        responsive: false,
        animation: false,
        parsing: false,
        normalized: true,
        spanGaps: true,
        scales: {
          x: { type: "linear", min: d.min, max: d.max, ticks: { sampleSize: 8 } },
          y: { type: "linear" },
        },
        plugins: { decimation: { enabled: true, algorithm: "min-max" } },
      },
    });
  },
);
