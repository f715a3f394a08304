/**
 * GET /api/v1/domains/{name}/audit?qmp=1&windowMs=2000: the disk cache/io audit of one domain (src/audit), for
 * the fleet server's audit route and `kvmon audit --server`. The answer is exactly the DomainAudit that
 * `kvmon audit --json` prints for that domain on this host. A control call like exec (token, audited): `qmp=1`
 * asks QEMU through libvirt's monitor passthrough, which marks the domain tainted.
 *
 * Each call opens its own libvirt connection (read-only, read-write only for qmp) and closes it: an audit is
 * rare and slow (the latency window), so holding a read-write connection for it would cost more than it saves.
 * Only on the libvirt host (a local URI): the audit reads QEMU's command line and open flags from /proc.
 */
import { Hono } from "hono";
import { auditDomains } from "../../audit/audit.ts";
import type { DomainAudit } from "../../audit/types.ts";
import { type DiskAuditRequest, diskAuditQuery } from "../../model/control.ts";
import { LibvirtClient } from "../../protocol/libvirt/index.ts";
import type { ProcPaths } from "../../tracer/vcpu-threads.ts";
import { HttpError } from "../errors.ts";
import { lookupDomain } from "./guest-channel.ts";
import { type ControlDeps, controlGuards, type Env } from "./routes.ts";

/** Audits one domain of this host by name or UUID (LIBVIRT_NO_DOMAIN when there is none). */
export type AuditDomain = (nameOrUuid: string, req: DiskAuditRequest) => Promise<DomainAudit>;

/** Deadline of each libvirt call of an audit (as `kvmon audit`'s). */
const CALL_TIMEOUT_MS = 15_000;

/** The audit on this host's libvirt, with a fresh connection per call. */
export function localDiskAudit(uri: string, paths: ProcPaths): AuditDomain {
  return async (nameOrUuid, req) => {
    const client = await LibvirtClient.open(uri, {
      readOnly: !req.qmp,
      callTimeoutMs: CALL_TIMEOUT_MS,
      connectTimeoutMs: 5000,
    });
    try {
      const domain = await lookupDomain(client, nameOrUuid);
      const [audit] = await auditDomains(client, [domain], { ...req, paths });
      return audit!;
    } finally {
      await client.close();
    }
  };
}

export function diskAuditRoutes(
  audit: AuditDomain | null,
  deps: Pick<ControlDeps, "token" | "audit" | "logger">,
): Hono<Env> {
  const app = new Hono<Env>();
  const { audited, authorized } = controlGuards(deps);
  app.get("/api/v1/domains/:name/audit", audited("disk-audit"), authorized, async (c) => {
    const name = c.req.param("name");
    if (name.length > 256) throw new HttpError(400, "BAD_REQUEST", "domain name longer than 256 characters");
    const q = diskAuditQuery.safeParse(c.req.query());
    if (!q.success) {
      const issue = q.error.issues[0]!;
      throw new HttpError(400, "BAD_REQUEST", `${issue.path.join(".") || "(query)"}: ${issue.message}`);
    }
    c.get("audit").what = { ...q.data };
    if (!audit)
      throw new HttpError(
        503,
        "AUDIT_UNAVAILABLE",
        "the disk audit runs only on the libvirt host (a local libvirt URI)",
      );
    return c.json(await audit(name, q.data));
  });
  return app;
}
