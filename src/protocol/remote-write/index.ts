/**
 * remote_write 1.0 (the Prometheus remote write specification): a snappy block of a protobuf WriteRequest.
 * Shared by the agent's sender and the server's ingest handler. `encodeWrite` is what a sender posts with
 * REMOTE_WRITE_HEADERS; `decodeWrite` turns a received body into series, refusing garbage with typed errors and
 * a body whose declared decompressed size is over `maxDecodedBytes` before decompressing it.
 */
import { type LabelSetCache, decodeWriteRequest } from "./decode.ts";
import { encodeWriteRequest } from "./protobuf.ts";
import { snappyCompress, snappyDecompress } from "./snappy.ts";
import type { TimeSeries } from "./types.ts";

export * from "./errors.ts";
export * from "./types.ts";
export { LabelSetCache, decodeWriteRequest } from "./decode.ts";
export { encodeWriteRequest } from "./protobuf.ts";
export { declaredLength } from "./snappy.ts";
export {
  LABEL_NAME,
  METRIC_NAME,
  labelsProblem,
  samplesProblem,
  seriesProblem,
  sortedLabels,
  validateSeries,
} from "./validate.ts";

export function encodeWrite(series: readonly TimeSeries[]): Uint8Array {
  return snappyCompress(encodeWriteRequest(series));
}

/** `labelSets`: label sets decoded before are shared rather than decoded again (a receiver's hot path). */
export function decodeWrite(
  body: Uint8Array,
  maxDecodedBytes: number,
  labelSets?: LabelSetCache,
): TimeSeries[] {
  return decodeWriteRequest(snappyDecompress(body, maxDecodedBytes), labelSets);
}
