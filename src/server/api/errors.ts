/** The API's HTTP errors (the shared HttpError and error body, as the agent answers) and its 400. */
import type { KvmonErrorOptions } from "../../shared/errors.ts";
import { HttpError } from "../../shared/http-error.ts";

export { errorBody, HttpError, type HttpErrorStatus } from "../../shared/http-error.ts";

/** A request that fails its schema: the message names the field (`query.limit: ...`, `body.domains.0: ...`). */
export class BadRequestError extends HttpError {
  override name = "BadRequestError";
  constructor(message: string, options?: KvmonErrorOptions) {
    super(400, "BAD_REQUEST", message, options);
  }
}
