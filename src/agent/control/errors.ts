/**
 * Errors of the control API (issue 11: commands in the guest), each an HttpError with a stable code:
 * - UnauthorizedError (401 UNAUTHORIZED): no `Authorization: Bearer` header, or a token that does not match;
 * - ControlDisabledError (403 CONTROL_DISABLED): the agent has no control token configured, so every control
 *   endpoint is off;
 * - ForbiddenError (403 FORBIDDEN): the token is right but the config does not allow this endpoint
 *   (guestExec / guestPassthrough off).
 * Errors of the guest call itself keep their own class and code (QGA_*, TIMEOUT, LIBVIRT_*); controlStatus()
 * gives each its HTTP status.
 */
import { ConnectionClosedError, LibvirtError } from "../../protocol/libvirt/index.ts";
import { QgaCommandError, QgaProtocolError, QgaUnavailableError } from "../../protocol/qga/index.ts";
import { TimeoutError } from "../../shared/errors.ts";
import { HttpError, type HttpErrorStatus } from "../errors.ts";

export class UnauthorizedError extends HttpError {
  override name = "UnauthorizedError";
  constructor(message: string) {
    super(401, "UNAUTHORIZED", message, {
      hint: "send 'Authorization: Bearer <token>' with the agent's control token",
    });
  }
}

export class ControlDisabledError extends HttpError {
  override name = "ControlDisabledError";
  constructor() {
    super(
      403,
      "CONTROL_DISABLED",
      "control endpoints are disabled on this agent: no control token is configured",
      {
        hint: "set controlToken, KVMON_CONTROL_TOKEN or controlTokenFile in the agent's config",
      },
    );
  }
}

export class ForbiddenError extends HttpError {
  override name = "ForbiddenError";
  constructor(message: string, hint: string) {
    super(403, "FORBIDDEN", message, { hint });
  }
}

/** The HTTP status of an error from a guest call, or undefined when it is not one (then: 500). */
export function controlStatus(e: unknown): HttpErrorStatus | undefined {
  if (e instanceof TimeoutError) return 504;
  if (e instanceof QgaUnavailableError || e instanceof ConnectionClosedError) return 503;
  if (e instanceof QgaCommandError || e instanceof QgaProtocolError) return 502;
  if (e instanceof LibvirtError) return e.isNoDomain() ? 404 : 502;
  return undefined;
}
