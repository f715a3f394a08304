// Chart.js tree-shaken to what a line chart needs (what the bundle size counts): no legend, tooltip or time
// scale (that needs a date adapter, a further package; a linear x axis over epoch milliseconds is lighter).
import { Chart, Decimation, LinearScale, LineController, LineElement, PointElement } from "chart.js";

Chart.register(LineController, LineElement, PointElement, LinearScale, Decimation);

export { Chart };
