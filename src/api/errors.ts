/** The API client's errors: the server's own error answer (its code, message and hint kept), or no answer. */
import { KvmonError, type KvmonErrorOptions } from "../shared/errors.ts";

/** The server answered with an error: `status` and the server's stable `code` (UNAUTHENTICATED, BAD_REQUEST, ...). */
export class ApiError extends KvmonError {
  override name = "ApiError";
  readonly status: number;
  constructor(status: number, code: string, message: string, options?: KvmonErrorOptions) {
    super(code, message, options);
    this.status = status;
  }
}

/** The request did not reach the server or its answer was not the API's (network down, a proxy's HTML). */
export class ApiUnreachableError extends KvmonError {
  override name = "ApiUnreachableError";
  constructor(message: string, options?: KvmonErrorOptions) {
    super("API_UNREACHABLE", message, options);
  }
}

/** The shared error vocabulary, for callers that may import only this layer (the dashboard). */
export { KvmonError, TimeoutError } from "../shared/errors.ts";
