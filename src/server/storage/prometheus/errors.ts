/** Errors of the SeriesStore over a Prometheus-compatible TSDB. */
import { KvmonError, type KvmonErrorOptions } from "../../../shared/errors.ts";

/**
 * The TSDB could not be reached or answered with an error. `code`: TSDB_UNREACHABLE (connection failed),
 * TSDB_ERROR (a non-2xx answer; the message carries its status and error text), TSDB_BAD_RESPONSE (an answer
 * that is not what the API documents), TSDB_UNSUPPORTED (an operation the configured flavour lacks).
 */
export class TsdbError extends KvmonError {
  override name = "TsdbError";
  constructor(
    code: "TSDB_UNREACHABLE" | "TSDB_ERROR" | "TSDB_BAD_RESPONSE" | "TSDB_UNSUPPORTED",
    message: string,
    options?: KvmonErrorOptions,
  ) {
    super(code, message, options);
  }
}
