/** A sparkline on a small canvas: the last hour of one series, scaled to its own maximum (or a fixed one). */
export function drawSparkline(
  canvas: HTMLCanvasElement,
  points: ReadonlyArray<readonly [number, number]> | undefined,
  max?: number,
): void {
  canvas.dataset.points = String(points?.length ?? 0);
  // The last value, for tests and the curious (the canvas' line is not in the DOM).
  canvas.dataset.last = points?.length ? String(points[points.length - 1]![1]) : "";
  const dpr = devicePixelRatio || 1;
  const w = canvas.clientWidth || 80;
  const hgt = canvas.clientHeight || 20;
  canvas.width = w * dpr;
  canvas.height = hgt * dpr;
  const g = canvas.getContext("2d");
  if (!g) return;
  g.scale(dpr, dpr);
  g.clearRect(0, 0, w, hgt);
  if (!points || points.length < 2) return;
  const t0 = points[0]![0];
  const span = points[points.length - 1]![0] - t0 || 1;
  const top = max ?? Math.max(...points.map((p) => p[1]), 1e-9);
  g.strokeStyle = getComputedStyle(canvas).color;
  g.lineWidth = 1.25;
  g.beginPath();
  points.forEach(([t, v], i) => {
    const x = ((t - t0) / span) * (w - 2) + 1;
    const y = hgt - 1 - (Math.min(v, top) / top) * (hgt - 2);
    if (i === 0) g.moveTo(x, y);
    else g.lineTo(x, y);
  });
  g.stroke();
}
