/** What both halves of bench/web/charts.ts share: a case to draw, and the function each page installs. */

/** `charts` charts of `series` series of `points` points each, every chart `width` x `height` px. */
export interface Case {
  charts: number;
  series: number;
  points: number;
  width: number;
  height: number;
}

/** Draws a case and answers the milliseconds from the first constructor call to the second frame after. */
export type Bench = (c: Case) => Promise<number>;
