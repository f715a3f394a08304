/**
 * Errors of the disk audit, each a KvmonError with a stable code:
 * - AUDIT_CMDLINE: QEMU's command line holds a -blockdev/-device argument that cannot be read;
 * - AUDIT_QUERY_BLOCK: QMP query-block answered something that is not its documented reply.
 */
import { KvmonError, type KvmonErrorOptions } from "../shared/errors.ts";

export class AuditError extends KvmonError {
  override name = "AuditError";
  constructor(code: string, message: string, options?: KvmonErrorOptions) {
    super(code, message, options);
  }
}
