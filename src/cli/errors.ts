/** CLI-level errors: a bad command line (exit 2) versus a failure with a hint for the operator (exit 1). */

export class UsageError extends Error {
  override name = "UsageError";
}

/** A failure the operator can act on; `hint` says what to do about it. */
export class CliError extends Error {
  override name = "CliError";
  readonly hint: string | undefined;
  constructor(message: string, options?: { hint?: string; cause?: unknown }) {
    super(message, { cause: options?.cause });
    this.hint = options?.hint;
  }
}
