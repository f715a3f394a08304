/**
 * The remote_write 1.0 message as plain data: `WriteRequest{repeated TimeSeries timeseries = 1}`,
 * `TimeSeries{repeated Label labels = 1; repeated Sample samples = 2}`, `Label{string name = 1; string value =
 * 2}`, `Sample{double value = 1; int64 timestamp = 2}` (milliseconds since the epoch).
 */

export interface Label {
  readonly name: string;
  readonly value: string;
}

export interface Sample {
  readonly value: number;
  /** Milliseconds since the epoch. */
  readonly timestamp: number;
}

export interface TimeSeries {
  /** Sorted by name, `__name__` among them. */
  readonly labels: readonly Label[];
  /** Ascending by timestamp. */
  readonly samples: readonly Sample[];
}

/** The four headers the spec requires of a sender (User-Agent is the sender's own). */
export const REMOTE_WRITE_HEADERS = {
  "Content-Encoding": "snappy",
  "Content-Type": "application/x-protobuf",
  "X-Prometheus-Remote-Write-Version": "0.1.0",
} as const;
