import assert from "node:assert/strict";
import { test } from "node:test";
import type { RangeAnswer, SecondCounts } from "../api/types.ts";
import { align, divided, perEvent, type Points, rated, rates, summedBy } from "./series.ts";

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

test("latency: the rate of a time counter over the rate of its request counter; no requests, no point", () => {
  const answer = (metric: string, points: Array<[number, number]>) => ({
    metric,
    start: 0,
    end: 100,
    step: 10,
    agg: "last" as const,
    series: [{ labels: { __name__: metric, device: "vda" }, points }],
  });
  const time = answer("kvmon_domain_block_read_time_seconds_total", [
    [10, 1],
    [20, 1.5], // 0.5 s over 100 requests: 5 ms each
    [30, 1.5], // no requests
    [40, 1.52], // 0.02 s over 10 requests: 2 ms each
  ]);
  const reqs = answer("kvmon_domain_block_read_requests_total", [
    [10, 1000],
    [20, 1100],
    [30, 1100],
    [40, 1110],
  ]);
  const [vda] = divided(rated(time), rated(reqs));
  assert.deepEqual(
    vda!.points.map(([t, v]) => [t, Math.round(v * 1e6) / 1e3]),
    [
      [20, 5],
      [40, 2],
    ],
  );
});

test("perEvent: one line per event, every second (zero where a second had none), the partial last second left out", () => {
  const seconds: SecondCounts[] = [
    { second: 100, counts: { kvm_exit: 5, kvm_pio: 2 } },
    { second: 102, counts: { kvm_exit: 7 } },
    { second: 103, counts: { kvm_exit: 1, kvm_mmio: 1 } },
  ];
  assert.deepEqual(perEvent(seconds, true), [
    {
      name: "kvm_exit",
      points: [
        [100, 5],
        [101, 0],
        [102, 7],
      ],
    },
    {
      name: "kvm_pio",
      points: [
        [100, 2],
        [101, 0],
        [102, 0],
      ],
    },
  ]);
  assert.equal(perEvent(seconds, false).length, 3);
  assert.deepEqual(perEvent(seconds.slice(0, 1), true), []);
});

test("summedBy: every series with the same label value summed at each time; no label, left out", () => {
  const answer = (series: Array<[Record<string, string>, Points]>): RangeAnswer =>
    ({ series: series.map(([labels, points]) => ({ labels, points })) }) as unknown as RangeAnswer;
  const reads = answer([
    [
      { uuid: "a", device: "vda" },
      [
        [60, 1],
        [120, 2],
      ],
    ],
    [
      { uuid: "a", device: "vdb" },
      [
        [60, 10],
        [120, 20],
      ],
    ],
    [{ uuid: "b", device: "vda" }, [[120, 5]]],
    [{ device: "vdc" }, [[60, 100]]],
  ]);
  const writes = answer([
    [
      { uuid: "a", device: "vda" },
      [
        [180, 7],
        [60, 0.5],
      ],
    ],
  ]);
  const sums = summedBy("uuid", [reads, writes]);
  assert.deepEqual([...sums.keys()].sort(), ["a", "b"]);
  assert.deepEqual(sums.get("a"), [
    [60, 11.5],
    [120, 22],
    [180, 7],
  ]);
  assert.deepEqual(sums.get("b"), [[120, 5]]);
});
