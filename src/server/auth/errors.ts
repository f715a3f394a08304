/** The auth layer's errors: no or a wrong token (401), not allowed (403), a token admin action refused. */
import { KvmonError, type KvmonErrorOptions } from "../../shared/errors.ts";
import { HttpError } from "../../shared/http-error.ts";

export class UnauthenticatedError extends KvmonError {
  override name = "UnauthenticatedError";
  constructor(message: string, options?: KvmonErrorOptions) {
    super("UNAUTHENTICATED", message, options);
  }
}

export class ForbiddenError extends KvmonError {
  override name = "ForbiddenError";
  constructor(message: string, options?: KvmonErrorOptions) {
    super("FORBIDDEN", message, options);
  }
}

/**
 * A token command that cannot be done: a bad name or role, or an ambiguous revoke (400, TOKEN_INVALID). The
 * subclasses carry the other answers: a duplicate (409), an unknown token (404), the last admin (409).
 */
export class TokenError extends HttpError {
  override name = "TokenError";
  constructor(
    message: string,
    options?: KvmonErrorOptions,
    status: 400 | 404 | 409 = 400,
    code = "TOKEN_INVALID",
  ) {
    super(status, code, message, options);
  }
}

export class TokenExistsError extends TokenError {
  override name = "TokenExistsError";
  constructor(message: string, options?: KvmonErrorOptions) {
    super(message, options, 409, "TOKEN_EXISTS");
  }
}

export class TokenNotFoundError extends TokenError {
  override name = "TokenNotFoundError";
  constructor(message: string, options?: KvmonErrorOptions) {
    super(message, options, 404, "TOKEN_NOT_FOUND");
  }
}

/** Revoking the last live admin token through the API would lock every admin out (and stop the next start). */
export class LastAdminTokenError extends TokenError {
  override name = "LastAdminTokenError";
  constructor(message: string, options?: KvmonErrorOptions) {
    super(message, options, 409, "TOKEN_LAST_ADMIN");
  }
}
