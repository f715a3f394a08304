/**
 * The disk audit on a domain's page (`kvmon audit` through the server): for each disk, the cache and io modes
 * QEMU runs it with and what they mean for the data, its latency over the audit's window, and the findings by
 * severity. Run on request by operators (it reads the QEMU process on the host and takes about 2 s); viewers are
 * told it needs the operator role.
 */
import type { ApiClient } from "../../api/client.ts";
import { cacheMode, ioMode } from "../../api/disk-modes.ts";
import type { DomainAudit } from "../../api/types.ts";
import { h, fill } from "../dom.ts";
import { millis } from "../format.ts";
import { errorText } from "./domain-control.ts";

type DiskAudit = DomainAudit["disks"][number];
type Severity = DiskAudit["findings"][number]["severity"];

const ORDER: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };

function mode(label: string, name: string, meaning: string, from?: string): HTMLElement {
  return h(
    "div",
    { class: "audit-mode", "data-mode": label },
    h("dt", {}, label),
    h(
      "dd",
      {},
      h("strong", {}, name),
      from ? h("span", { class: "muted" }, ` (from ${from})`) : null,
      h("br"),
      meaning,
    ),
  );
}

function latency(l: DiskAudit["latency"]): string {
  if (!l) return "not measured (the domain is not running here)";
  const one = (what: string, s: number | null, n: number) =>
    `${what} ${s === null ? "–" : millis(s)} (${n} requests)`;
  return `${one("read", l.read, l.readRequests)}, ${one("write", l.write, l.writeRequests)}, ${one("flush", l.flush, l.flushRequests)} over ${l.windowSeconds} s`;
}

function disk(d: DiskAudit): HTMLElement {
  const def = d.live ?? d.persistent;
  const findings = [...d.findings].sort((a, b) => ORDER[a.severity] - ORDER[b.severity]);
  const { mode: cache, cache: flags, aio: io, from } = d.effective;
  const cacheMeaning = cache
    ? (cacheMode(cache)?.meaning ?? "")
    : flags
      ? "A combination of QEMU's cache switches that no libvirt mode sets up: see the findings."
      : "Not known: neither QEMU nor the definitions said.";
  return h(
    "section",
    { class: "audit-disk", "data-target": d.target, "data-findings": findings.length },
    h(
      "h3",
      {},
      d.target,
      h(
        "span",
        { class: "muted" },
        ` ${def?.source ?? "no source"} · ${def?.format ?? "?"} · ${d.storage} storage`,
      ),
    ),
    h(
      "dl",
      {},
      mode("cache", cache ?? (flags ? "not a libvirt mode" : "unknown"), cacheMeaning, from),
      mode(
        "io",
        io ?? "unknown",
        (io && ioMode(io)?.meaning) || "Not known: neither QEMU nor the definitions said.",
      ),
      h("div", {}, h("dt", {}, "latency"), h("dd", {}, latency(d.latency))),
    ),
    findings.length === 0
      ? h("p", { class: "muted" }, "No findings.")
      : h(
          "ul",
          { class: "findings" },
          ...findings.map((f) =>
            h(
              "li",
              { "data-severity": f.severity, "data-rule": f.rule },
              h("span", { class: `badge severity-${f.severity}` }, f.severity),
              " ",
              h("strong", {}, f.message),
              f.meaning ? h("div", { class: "muted" }, f.meaning) : null,
            ),
          ),
        ),
  );
}

function report(a: DomainAudit): HTMLElement[] {
  const all = a.disks.flatMap((d) => d.findings);
  const count = (s: Severity) => all.filter((f) => f.severity === s).length;
  return [
    h(
      "p",
      { class: "audit-summary" },
      a.disks.length === 0
        ? "No disks."
        : `${a.disks.length} disk${a.disks.length === 1 ? "" : "s"}: ${count("critical")} critical, ${count("warning")} warning, ${count("info")} info.`,
    ),
    ...a.notes.map((n) => h("p", { class: "muted" }, n)),
    ...a.disks.map(disk),
  ];
}

export function diskAuditCard(
  client: ApiClient,
  host: string,
  name: string,
  canOperate: boolean,
): HTMLElement {
  const body = h("div", { class: "audit-body", "aria-live": "polite" });
  const run = h("button", { type: "button", class: "audit-run" }, "Run audit");
  const el = h(
    "section",
    { class: "card disk-audit", "aria-label": "Disk audit", "data-state": "idle" },
    h("h2", {}, "Disk audit"),
    h(
      "p",
      { class: "muted" },
      "How QEMU runs each disk (its cache and io modes, read from the definitions, QEMU's command line and the files it holds open), what that means for the data, each disk's latency, and what to fix.",
    ),
    canOperate
      ? h("div", { class: "controls" }, run, h("span", { class: "muted" }, "takes about 2 s"))
      : h(
          "p",
          { class: "notice" },
          `Running the audit needs the operator role (it reads the QEMU process on the host). An operator runs it here, or on the host: kvmon audit ${name}.`,
        ),
    body,
  );
  run.addEventListener("click", () => {
    run.disabled = true;
    el.dataset.state = "running";
    fill(body, h("p", { class: "muted" }, "Auditing… (measuring latency for 2 s)"));
    client
      .diskAudit(host, name)
      .then(
        (a) => {
          el.dataset.state = "done";
          fill(body, ...report(a));
        },
        (e: unknown) => {
          el.dataset.state = "error";
          fill(body, h("p", { class: "error", role: "alert" }, `The audit failed: ${errorText(e)}`));
        },
      )
      .finally(() => {
        run.disabled = false;
      });
  });
  return el;
}
