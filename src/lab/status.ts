/** `kvmon lab status`: one row per lab domain, with a live guest-ping for running TCG guests. */
import { pingAgent } from "./guest-agent.ts";
import { LAB_PREFIX } from "./config.ts";
import { LIBVIRTD, socketAnswers } from "./daemons.ts";
import { parseDomainXml } from "./domain-xml.ts";
import type { LabContext } from "./context.ts";

export interface StatusRow {
  name: string;
  state: string;
  /** Domain type: "qemu" (TCG) or "kvm". */
  type: string;
  vcpus: number;
  memoryMiB: number;
  /** "ok 12 ms", "no answer", or "-" (not running, or no agent in this guest). */
  agent: string;
}

export async function labStatus(ctx: LabContext): Promise<StatusRow[] | undefined> {
  if (!(await socketAnswers(LIBVIRTD.socket))) return undefined;
  const domains = (await ctx.lv.list()).filter((d) => d.name.startsWith(LAB_PREFIX));
  const rows = await Promise.all(
    domains.map(async (d): Promise<StatusRow | undefined> => {
      const facts = parseDomainXml(await ctx.lv.dumpxml(d.name, { inactive: true }));
      if (!facts.lab) return undefined;
      let agent = "-";
      if (d.state === "running" && facts.lab.role === "guest") {
        const ping = await pingAgent(ctx.lv, d.name, 5);
        agent = ping.ok ? `ok ${Math.round(ping.latencyMs)} ms` : "no answer";
      }
      return {
        name: d.name,
        state: d.state,
        type: facts.type,
        vcpus: facts.vcpus,
        memoryMiB: Math.round(facts.memoryKiB / 1024),
        agent,
      };
    }),
  );
  return rows
    .filter((r): r is StatusRow => r !== undefined)
    .sort((a, b) => a.name.localeCompare(b.name, "en", { numeric: true }));
}

/** A plain-text table, columns padded to their widest cell. */
export function formatStatus(rows: readonly StatusRow[]): string {
  if (rows.length === 0) return "no lab domains (run 'kvmon lab up')\n";
  const header = ["NAME", "STATE", "TYPE", "VCPUS", "MEMORY", "AGENT"];
  const body = rows.map((r) => [r.name, r.state, r.type, String(r.vcpus), `${r.memoryMiB} MiB`, r.agent]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 3 || i === 4 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return `${[line(header), ...body.map(line)].join("\n")}\n`;
}
