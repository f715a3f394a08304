import assert from "node:assert/strict";
import { test } from "node:test";
import { align, divided, rates } from "./series.ts";

test("rates: per second between points; a counter reset gives no point", () => {
  assert.deepEqual(
    rates([
      [10, 100],
      [20, 300],
      [30, 50], // reset
      [40, 150],
    ]),
    [
      [20, 20],
      [40, 10],
    ],
  );
  assert.deepEqual(rates([[10, 1]]), []);
});

test("align: one x axis from every series' times, null where a series has none", () => {
  assert.deepEqual(
    align([
      [
        [1, 10],
        [3, 30],
      ],
      [[2, 20]],
    ]),
    [
      [1, 2, 3],
      [10, null, 30],
      [null, 20, null],
    ],
  );
});

test("divided: matched by labels without the name, at the times both have", () => {
  const num = {
    metric: "used",
    start: 0,
    end: 10,
    step: 1,
    agg: "avg" as const,
    series: [
      {
        labels: { __name__: "used", mountpoint: "/" },
        points: [
          [1, 5],
          [2, 6],
        ] as Array<[number, number]>,
      },
      { labels: { __name__: "used", mountpoint: "/data" }, points: [[1, 1]] as Array<[number, number]> },
    ],
  };
  const den = {
    ...num,
    metric: "size",
    series: [{ labels: { __name__: "size", mountpoint: "/" }, points: [[1, 10]] as Array<[number, number]> }],
  };
  assert.deepEqual(
    divided(num, den).map((s) => s.points),
    [[[1, 0.5]], []],
  );
});
