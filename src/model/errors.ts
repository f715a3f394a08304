/** Errors of the model layer. */
import { KvmonError, type KvmonErrorOptions } from "../shared/errors.ts";

/** Data that claims to be (part of) the model but does not match its schema; `problems` are "path: reason". */
export class SchemaError extends KvmonError {
  override name = "SchemaError";
  readonly problems: readonly string[];
  constructor(what: string, problems: readonly string[], options?: KvmonErrorOptions) {
    super("SCHEMA_INVALID", `${what} does not match the model: ${problems.join("; ")}`, options);
    this.problems = problems;
  }
}
