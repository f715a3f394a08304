/**
 * The HTTP error of kvmon's APIs (the agent's and the fleet server's): a KvmonError with the status to answer,
 * and the one error body both send, {error: {code, message, hint?}}.
 */
import { KvmonError, type KvmonErrorOptions } from "./errors.ts";

/** The HTTP statuses the APIs answer errors with. */
export type HttpErrorStatus = 400 | 401 | 403 | 404 | 405 | 409 | 413 | 500 | 502 | 503 | 504;

/** An HTTP request the API cannot serve; `status` is the HTTP status, `code` the stable error code. */
export class HttpError extends KvmonError {
  override name = "HttpError";
  readonly status: HttpErrorStatus;
  constructor(status: HttpErrorStatus, code: string, message: string, options?: KvmonErrorOptions) {
    super(code, message, options);
    this.status = status;
  }
}

export function errorBody(error: KvmonError): { error: { code: string; message: string; hint?: string } } {
  const body = { code: error.code, message: error.message };
  return { error: error.hint === undefined ? body : { ...body, hint: error.hint } };
}
