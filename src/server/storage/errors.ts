/** Errors of the fleet server's storage layer (embedded engine and Prometheus-compatible adapter). */
import { KvmonError, type KvmonErrorOptions } from "../../shared/errors.ts";

export class StorageError extends KvmonError {
  override name = "StorageError";
}

/** The database file cannot be opened or is not a kvmon store (or one of a newer layout). */
export class StorageOpenError extends StorageError {
  override name = "StorageOpenError";
  readonly path: string;
  constructor(path: string, message: string, options?: KvmonErrorOptions) {
    super("STORAGE_OPEN", `cannot open the store ${path}: ${message}`, options);
    this.path = path;
  }
}

/** A write did not commit; nothing of the batch is stored (the caller answers 5xx, the sender retries). */
export class StorageWriteError extends StorageError {
  override name = "StorageWriteError";
  constructor(message: string, options?: KvmonErrorOptions) {
    super("STORAGE_WRITE", message, options);
  }
}

/** A batch would create more series than the per-host limit allows; nothing of the batch is stored. */
export class SeriesLimitError extends StorageError {
  override name = "SeriesLimitError";
  readonly label: string;
  readonly value: string;
  readonly limit: number;
  constructor(label: string, value: string, limit: number) {
    super("STORAGE_SERIES_LIMIT", `${label}="${value}" would exceed its limit of ${limit} series`, {
      hint: "raise the server's series limit, or drop high-cardinality labels at the agent",
    });
    this.label = label;
    this.value = value;
    this.limit = limit;
  }
}

/** The store was used after close(). */
export class StorageClosedError extends StorageError {
  override name = "StorageClosedError";
  constructor() {
    super("STORAGE_CLOSED", "the store is closed");
  }
}

/** A query the store cannot answer as asked (e.g. an invalid regex in a matcher). */
export class StorageQueryError extends StorageError {
  override name = "StorageQueryError";
  constructor(message: string, options?: KvmonErrorOptions) {
    super("STORAGE_QUERY", message, options);
  }
}
