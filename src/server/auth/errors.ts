/** The auth layer's errors: a missing or wrong token (401) and a principal not allowed to do this (403). */
import { KvmonError, type KvmonErrorOptions } from "../../shared/errors.ts";

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

/** A token command that cannot be done (a duplicate name, revoking an unknown token). */
export class TokenError extends KvmonError {
  override name = "TokenError";
  constructor(message: string, options?: KvmonErrorOptions) {
    super("TOKEN_INVALID", message, options);
  }
}
