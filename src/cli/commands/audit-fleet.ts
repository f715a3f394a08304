/**
 * `kvmon audit --server URL [host/vm | vm | host/ ...]`: the disk audit through the fleet server, which relays
 * each domain's audit to its host's agent (GET /api/v1/domains/{host}/{name}/audit; operator, audited by both).
 * No name: every domain of the fleet; `host/`: every domain of that host. The audits run a few at a time, each
 * waiting out its own latency window on its host.
 */
import type { DomainAudit } from "../../audit/types.ts";
import { CliError } from "../errors.ts";
import { type FleetVm, ServerClient } from "../server-client.ts";

/** Audits asked of the server at once. */
const PARALLEL = 4;
/** What an agent's audit takes beyond its latency window (definitions, /proc, QMP), plus the server's relay. */
const AUDIT_WORK_MS = 30_000;

/** A domain's audit with the host it ran on. */
export type FleetAudit = DomainAudit & { host: string };

/** The VMs named (host/vm, a vm unique in the fleet, host/ for all of a host's), or the whole fleet's. */
export async function fleetTargets(server: ServerClient, given: readonly string[]): Promise<FleetVm[]> {
  const listed = await server.request<{ total: number; domains: FleetVm[] }>(
    "GET",
    "/api/v1/domains?limit=1000",
  );
  const all = listed.domains.map(({ host, name }) => ({ host, name }));
  const byName = (a: FleetVm, b: FleetVm) => a.host.localeCompare(b.host) || a.name.localeCompare(b.name);
  if (given.length === 0) return all.sort(byName);
  const out: FleetVm[] = [];
  for (const g of given) {
    if (g.endsWith("/")) {
      const host = g.slice(0, -1);
      const ofHost = all.filter((d) => d.host === host).sort(byName);
      if (ofHost.length === 0)
        throw new CliError(`no domains of host '${host}' in the fleet`, {
          code: "NO_DOMAIN",
          hint: `the fleet's hosts: ${[...new Set(all.map((d) => d.host))].sort().join(", ") || "none"}`,
        });
      out.push(...ofHost);
    } else out.push(await server.resolve(g));
  }
  return out;
}

export async function fleetAudits(
  server: ServerClient,
  vms: readonly FleetVm[],
  opts: { qmp: boolean; windowMs: number; onProgress?: (text: string) => void },
): Promise<FleetAudit[]> {
  const out: FleetAudit[] = new Array(vms.length);
  let next = 0;
  const worker = async () => {
    while (next < vms.length) {
      const i = next++;
      const vm = vms[i]!;
      opts.onProgress?.(`auditing ${vm.host}/${vm.name} (${i + 1} of ${vms.length})`);
      const audit = await server.request<DomainAudit>(
        "GET",
        `${ServerClient.domainPath(vm)}/audit?qmp=${opts.qmp ? 1 : 0}&windowMs=${opts.windowMs}`,
        undefined,
        opts.windowMs + AUDIT_WORK_MS,
      );
      out[i] = { host: vm.host, ...audit };
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, vms.length) }, worker));
  return out;
}
