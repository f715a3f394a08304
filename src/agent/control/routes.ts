/**
 * The control endpoints (issue 11): POST /api/v1/domains/{name}/exec and /agent-command. Each call goes
 * through, in order: the audit wrapper (one record per call, whatever happens), the token check, the
 * endpoint's config switch, a bounded body, and its zod schema (hono's validator); then the guest call.
 */
import { getConnInfo } from "@hono/node-server/conninfo";
import { type Context, Hono, type MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { validator } from "hono/validator";
import type { z } from "zod";
import { KvmonError } from "../../shared/errors.ts";
import { HttpError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { AuditLog, AuditRecord } from "./audit.ts";
import { ControlDisabledError, ForbiddenError, UnauthorizedError } from "./errors.ts";
import type { ControlChannels } from "./guest-channel.ts";
import { guestExec } from "./guest-exec.ts";
import { agentCommand, stringifyJson } from "./passthrough.ts";
import { agentCommandBody, auditedExec, execBody, MAX_BODY_BYTES } from "../../model/control.ts";
import type { ControlToken } from "./token.ts";

export interface ControlDeps {
  /** null: control endpoints disabled (403 CONTROL_DISABLED). */
  token: ControlToken | null;
  /** null only while control is disabled. */
  audit: AuditLog | null;
  logger: Logger;
  /** The read-write channels; null when neither endpoint is on. */
  channels: ControlChannels | null;
  guestExec: boolean;
  guestPassthrough: boolean;
  /** Kill a program still running at its timeout (docs/guest-agent.md "Commands in the guest"). */
  killOnTimeout: boolean;
  /** Deadline of each agent call. */
  callTimeoutMs: number;
}

export interface AuditNote {
  who: string;
  /** The guest as recorded; the route's :name when absent. */
  guest?: string;
  what: Record<string, unknown>;
  exitCode?: number | null;
}
export type Env = { Variables: { audit: AuditNote } };

function remoteAddress(c: Context): string | null {
  try {
    return getConnInfo(c).remote.address ?? null;
  } catch {
    return null; // not served by @hono/node-server (app.request in tests)
  }
}

function outcome(status: number): AuditRecord["outcome"] {
  if (status < 400) return "ok";
  return status === 401 || status === 403 ? "denied" : "error";
}

/**
 * What every control endpoint goes through (the trace switch too, src/agent/control/trace-routes.ts): the
 * audit wrapper, the token check, a bounded body and its zod schema.
 */
export function controlGuards(deps: Pick<ControlDeps, "token" | "audit" | "logger">) {
  const audited =
    (action: AuditRecord["action"]): MiddlewareHandler<Env> =>
    async (c, next) => {
      const time = new Date().toISOString();
      const started = performance.now();
      const note: AuditNote = { who: "anonymous", what: {} };
      c.set("audit", note);
      await next();
      if (!deps.audit) return;
      const status = c.res.status;
      const err = c.error;
      const record: AuditRecord = {
        time,
        who: note.who,
        from: remoteAddress(c),
        action,
        guest: note.guest ?? c.req.param("name") ?? "",
        what: note.what,
        outcome: outcome(status),
        status,
        ...(err ? { code: err instanceof KvmonError ? err.code : "INTERNAL" } : {}),
        ...(note.exitCode !== undefined ? { exitCode: note.exitCode } : {}),
        durationMs: Math.round(performance.now() - started),
      };
      await deps.audit.write(record).catch((e: unknown) => {
        deps.logger.error("audit record not written", {
          path: deps.audit?.path,
          error: String(e),
          record: JSON.stringify(record),
        });
      });
    };

  const authorized: MiddlewareHandler<Env> = async (c, next) => {
    if (!deps.token) throw new ControlDisabledError();
    const m = /^Bearer +(\S+) *$/i.exec(c.req.header("authorization") ?? "");
    if (!m) throw new UnauthorizedError("this endpoint needs 'Authorization: Bearer <control token>'");
    if (!deps.token.matches(m[1]!))
      throw new UnauthorizedError("the bearer token is not this agent's control token");
    c.get("audit").who = deps.token.id;
    await next();
  };

  const limited = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw new HttpError(413, "BODY_TOO_LARGE", `request body larger than ${MAX_BODY_BYTES} bytes`);
    },
  });

  const body = <S extends z.ZodType>(schema: S) =>
    validator("json", (value, c: Context<Env>) => {
      if (!/^application\/json\b/i.test(c.req.header("content-type") ?? ""))
        throw new HttpError(400, "BAD_REQUEST", "expects a JSON body (content-type: application/json)");
      const r = schema.safeParse(value);
      if (!r.success) {
        const issue = r.error.issues[0]!;
        const where = issue.path.join(".") || "(body)";
        throw new HttpError(400, "BAD_REQUEST", `${where}: ${issue.message}`);
      }
      return r.data as z.infer<S>;
    });

  return { audited, authorized, limited, body };
}

export function controlRoutes(deps: ControlDeps): Hono<Env> {
  const app = new Hono<Env>();
  const { audited, authorized, limited, body } = controlGuards(deps);
  const allowed =
    (on: boolean, key: string): MiddlewareHandler<Env> =>
    async (_c, next) => {
      if (!on || !deps.channels)
        throw new ForbiddenError(
          `this endpoint is off in the agent's config (${key})`,
          `set ${key}: true (and enable the guest view) to allow it`,
        );
      await next();
    };

  app.post(
    "/api/v1/domains/:name/exec",
    audited("exec"),
    authorized,
    allowed(deps.guestExec, "guestExec"),
    limited,
    body(execBody),
    async (c) => {
      const req = c.req.valid("json");
      const note = c.get("audit");
      note.what = auditedExec(req);
      const channel = await deps.channels!.channel(c.req.param("name"));
      const result = await guestExec(
        channel,
        {
          path: req.path,
          args: req.args,
          input:
            req.input === undefined
              ? undefined
              : Buffer.from(req.input, req.inputEncoding === "base64" ? "base64" : "utf8"),
          captureOutput: req.captureOutput,
          maxOutputBytes: req.maxOutputBytes,
          timeoutMs: req.timeout * 1000,
        },
        { killOnTimeout: deps.killOnTimeout, callTimeoutMs: deps.callTimeoutMs },
      );
      note.exitCode = result.exitCode;
      return c.json(result);
    },
  );

  app.post(
    "/api/v1/domains/:name/agent-command",
    audited("agent-command"),
    authorized,
    allowed(deps.guestPassthrough, "guestPassthrough"),
    limited,
    body(agentCommandBody),
    async (c) => {
      const cmd = c.req.valid("json");
      // Argument names only: values may be secrets (guest-set-user-password) or whole files (guest-file-write).
      c.get("audit").what = { execute: cmd.execute, arguments: Object.keys(cmd.arguments ?? {}) };
      const channel = await deps.channels!.channel(c.req.param("name"));
      const value = await agentCommand(channel, cmd, deps.callTimeoutMs);
      return c.body(`{"return":${stringifyJson(value)}}`, 200, { "content-type": "application/json" });
    },
  );
  return app;
}
