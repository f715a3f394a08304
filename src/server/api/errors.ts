/** The API's HTTP errors and its one error body, {error: {code, message, hint?}}, as the agent answers. */
import { KvmonError, type KvmonErrorOptions } from "../../shared/errors.ts";

export type HttpErrorStatus = 400 | 401 | 403 | 404 | 405 | 409 | 413 | 500 | 502 | 503 | 504;

/** A request the API cannot serve: `status` is the HTTP status, `code` the stable error code. */
export class HttpError extends KvmonError {
  override name = "HttpError";
  readonly status: HttpErrorStatus;
  constructor(status: HttpErrorStatus, code: string, message: string, options?: KvmonErrorOptions) {
    super(code, message, options);
    this.status = status;
  }
}

/** A request that fails its schema: the message names the field (`query.limit: ...`, `body.domains.0: ...`). */
export class BadRequestError extends HttpError {
  override name = "BadRequestError";
  constructor(message: string, options?: KvmonErrorOptions) {
    super(400, "BAD_REQUEST", message, options);
  }
}

export function errorBody(error: KvmonError): { error: { code: string; message: string; hint?: string } } {
  const body = { code: error.code, message: error.message };
  return { error: error.hint === undefined ? body : { ...body, hint: error.hint } };
}
