/** CLI-level errors: a bad command line (exit 2) versus a failure with a hint for the operator (exit 1). */
import { KvmonError, type KvmonErrorOptions } from "../shared/errors.ts";

export class UsageError extends KvmonError {
  override name = "UsageError";
  constructor(message: string, options?: KvmonErrorOptions) {
    super("CLI_USAGE", message, options);
  }
}

/** A failure the operator can act on; `hint` says what to do about it. */
export class CliError extends KvmonError {
  override name = "CliError";
  constructor(message: string, options?: KvmonErrorOptions & { code?: string }) {
    super(options?.code ?? "CLI_FAILED", message, options);
  }
}
