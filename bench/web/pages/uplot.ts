// uPlot as the dashboard uses it: columnar data, a time x axis; legend off (Chart.js draws none either).
import uPlot from "uplot";
import { serve } from "./harness.ts";

serve(
  (d) => [d.x, ...d.ys] as uPlot.AlignedData,
  (el, data, c) =>
    new uPlot(
      {
        width: c.width,
        height: c.height,
        legend: { show: false },
        series: [{}, ...data.slice(1).map(() => ({ stroke: "#3b82f6", width: 1 }))],
      },
      data,
      el,
    ),
);
