/**
 * remote_write 1.0 bodies for the benchmark's VictoriaMetrics side: protobuf (`WriteRequest`, as protobufjs
 * declares it from prometheus/prompb/types.proto's fields) + snappy block format. Each series' labels are
 * encoded once with protobufjs; the per-interval bodies then splice those bytes with the samples, since
 * re-encoding ~150 000 label sets per interval would measure protobufjs rather than the store. `decodeBody`
 * (protobufjs all the way) checks the splicing.
 */
import protobuf from "protobufjs";
import { compressSync, uncompressSync } from "snappy";
import type { Labels, Series } from "../../src/server/storage/types.ts";

const root = protobuf.Root.fromJSON({
  nested: {
    WriteRequest: { fields: { timeseries: { rule: "repeated", type: "TimeSeries", id: 1 } } },
    TimeSeries: {
      fields: {
        labels: { rule: "repeated", type: "Label", id: 1 },
        samples: { rule: "repeated", type: "Sample", id: 2 },
      },
    },
    Label: { fields: { name: { type: "string", id: 1 }, value: { type: "string", id: 2 } } },
    Sample: { fields: { value: { type: "double", id: 1 }, timestamp: { type: "int64", id: 2 } } },
  },
});
const WriteRequest = root.lookupType("WriteRequest");
const TimeSeries = root.lookupType("TimeSeries");

export const REMOTE_WRITE_HEADERS = {
  "Content-Encoding": "snappy",
  "Content-Type": "application/x-protobuf",
  "X-Prometheus-Remote-Write-Version": "0.1.0",
  "User-Agent": "kvmon-bench/0.1",
};

/** A series' labels as TimeSeries field-1 bytes, sorted by name as remote_write requires. */
export function encodeLabels(labels: Labels): Uint8Array {
  const sorted = Object.keys(labels)
    .sort()
    .map((name) => ({ name, value: labels[name]! }));
  return TimeSeries.encode({ labels: sorted }).finish();
}

function varint(out: number[], n: number): void {
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
}

const F64 = new Float64Array(1);
const F64_BYTES = new Uint8Array(F64.buffer);

/** One WriteRequest of the given series (pre-encoded labels) and their samples, snappy-compressed. */
export function encodeBody(
  labels: readonly Uint8Array[],
  samples: readonly (readonly { t: number; v: number }[])[],
): Buffer {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < labels.length; i++) {
    const tail: number[] = [];
    for (const s of samples[i]!) {
      F64[0] = s.v;
      const sample = [0x09, ...F64_BYTES, 0x10];
      varint(sample, s.t);
      tail.push(0x12, sample.length, ...sample);
    }
    const size = labels[i]!.length + tail.length;
    const head: number[] = [0x0a];
    varint(head, size);
    parts.push(Uint8Array.from(head), labels[i]!, Uint8Array.from(tail));
  }
  return compressSync(Buffer.concat(parts));
}

/** Decodes a body with protobufjs alone: the check that encodeBody writes a valid WriteRequest. */
export function decodeBody(body: Buffer): Series[] {
  const msg = WriteRequest.toObject(WriteRequest.decode(uncompressSync(body) as Buffer), {
    longs: Number,
  }) as {
    timeseries: {
      labels: { name: string; value: string }[];
      samples: { value: number; timestamp: number }[];
    }[];
  };
  return msg.timeseries.map((ts) => ({
    labels: Object.fromEntries(ts.labels.map((l) => [l.name, l.value])),
    samples: ts.samples.map((s) => ({ t: s.timestamp, v: s.value })),
  }));
}
