/**
 * The peers bench/agent compares, each its own process on the same libvirtd and the same domains:
 *   - kvmon: `./bin/kvmon agent --interval I` (or another command line, --kvmon LABEL=COMMAND, to compare
 *     builds and V8 flags side by side), collecting in the background once per interval and serving /metrics
 *     from the cached snapshot;
 *   - prometheus-libvirt-exporter (Debian 0.2): calls libvirt on every scrape (several calls per domain);
 *   - collectd (collectd.ts).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { meterProcess } from "../lib/cpu.ts";
import { exposSeries, freePort, httpGet, stopChild, waitFor } from "../lib/http.ts";

export type PeerKind = "kvmon" | "exporter" | "collectd";

export interface Peer {
  name: string;
  kind: PeerKind;
  pid: number;
  /** One scrape: the body (exposition text, or collectd's GETVAL lines). */
  scrape(): Promise<string>;
  /** Series in one scrape's body: [all, domain series only]. */
  series(body: string): [number, number];
  /** Background collections so far (kvmon's counter; collectd's from its interval and uptime; 0 for the exporter). */
  collections(body: string): number;
  /** SIGSTOP / SIGCONT: the paced phase runs one peer at a time to see what each alone costs libvirtd. */
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

/** pause/resume/stop of a child process. */
export function childControls(child: ChildProcess): Pick<Peer, "pause" | "resume" | "stop"> {
  return {
    pause: () => child.kill("SIGSTOP"),
    resume: () => child.kill("SIGCONT"),
    stop: () => stopChild(child),
  };
}

export interface PeerOptions {
  uri: string;
  /** Collection interval of kvmon and collectd, seconds. */
  interval: number;
  log: (s: string) => void;
}

/**
 * A kvmon agent started by `command` (split on spaces; "agent --listen 127.0.0.1:0 --interval I --uri U" is
 * appended), e.g. `./bin/kvmon` or `.tools/node/bin/node --max-semi-space-size=1 .build/kvmon.mjs`.
 */
export async function startKvmon(label: string, command: string, o: PeerOptions): Promise<Peer> {
  const [cmd, ...args] = command.split(/\s+/).filter((s) => s !== "");
  const child = spawn(
    cmd!,
    [...args, "agent", "--listen", "127.0.0.1:0", "--interval", String(o.interval), "--uri", o.uri],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  meterProcess(label, child.pid!);
  const lines: string[] = [];
  let address: string | undefined;
  createInterface({ input: child.stderr! }).on("line", (l) => {
    if (lines.length < 100) lines.push(l);
    const m = /"msg":"agent listening".*"address":"([^"]+)"/.exec(l);
    if (m) address = m[1];
    else if (/"level":"(warn|error)"/.test(l)) o.log(`${label}: ${l}`);
  });
  const base = await waitFor(label, async () => {
    if (child.exitCode !== null) throw new Error(`${label} exited: ${lines.join("\n")}`);
    return address ? `http://${address}` : undefined;
  });
  await waitFor(`${label}: first collection`, async () =>
    /^kvmon_domain_state_code/m.test(await httpGet(`${base}/metrics`)) ? true : undefined,
  );
  return {
    name: label,
    kind: "kvmon",
    pid: child.pid!,
    scrape: () => httpGet(`${base}/metrics`),
    series: (b) => exposSeries(b, "kvmon_domain_"),
    collections: (b) => Number(/^kvmon_collections_total (\S+)/m.exec(b)?.[1] ?? Number.NaN),
    ...childControls(child),
  };
}

export async function startExporter(o: PeerOptions): Promise<Peer> {
  const port = await freePort();
  const child = spawn(
    "/usr/bin/prometheus-libvirt-exporter",
    [`--web.listen-address=127.0.0.1:${port}`, `--libvirt.uri=${o.uri}`],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  meterProcess("exporter", child.pid!);
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
  const base = `http://127.0.0.1:${port}`;
  await waitFor("prometheus-libvirt-exporter", async () => {
    if (child.exitCode !== null) throw new Error(`exporter exited: ${err}`);
    return /^libvirt_domain_state_code/m.test(await httpGet(`${base}/metrics`)) ? true : undefined;
  });
  return {
    name: "prometheus-libvirt-exporter",
    kind: "exporter",
    pid: child.pid!,
    scrape: () => httpGet(`${base}/metrics`),
    series: (b) => exposSeries(b, "libvirt_domain"),
    collections: () => 0,
    ...childControls(child),
  };
}
