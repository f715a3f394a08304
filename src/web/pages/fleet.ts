/**
 * The fleet: hosts with their health, then every domain of every host in one table (one request for the
 * domains, one for the hosts, then the sparklines: one for CPU, two each for disk and network), sortable by any
 * column, filtered by host, state, name
 * and label, with virtualised rows so 1000+ domains stay fast. Refreshes every 10 s.
 */
import { ApiError } from "../../api/errors.ts";
import type { FleetDomain, HostView } from "../../api/types.ts";
import { h, fill } from "../dom.ts";
import { ago, bytes, bytesPerSecond, percent } from "../format.ts";
import type { Page } from "../page.ts";
import { rated, summedBy, type Points } from "../series.ts";
import { drawSparkline } from "../sparkline.ts";

const ROW_HEIGHT = 34;
const OVERSCAN = 8;
const REFRESH_MS = 10_000;

/** The table's sparklines, each the last hour of one domain-wide line: counters as rates summed over devices. */
interface Spark {
  key: string;
  title: string;
  metrics: string[];
  /** Counters: the rate of each series, then summed per domain (disks and directions in one line). */
  rate: boolean;
  /** The line's top; none: its own maximum. */
  max?: number;
}
const SPARKS: Spark[] = [
  { key: "cpu", title: "CPU 1 h", metrics: ["kvmon_domain_cpu_usage_ratio"], rate: false, max: 1 },
  {
    key: "disk",
    title: "Disk 1 h",
    metrics: ["kvmon_domain_block_read_bytes_total", "kvmon_domain_block_write_bytes_total"],
    rate: true,
  },
  {
    key: "net",
    title: "Net 1 h",
    metrics: ["kvmon_domain_interface_receive_bytes_total", "kvmon_domain_interface_transmit_bytes_total"],
    rate: true,
  },
];

interface Column {
  key: string;
  title: string;
  value: (d: FleetDomain) => number | string | null;
  show: (d: FleetDomain) => string;
  numeric?: boolean;
}

const sum = (xs: ReadonlyArray<number | null | undefined> | undefined): number | null => {
  const known = (xs ?? []).filter((x): x is number => x != null);
  return known.length === 0 ? null : known.reduce((a, b) => a + b, 0);
};
const diskRate = (d: FleetDomain) =>
  sum(d.block?.flatMap((b) => [b.readBytes?.perSecond, b.writeBytes?.perSecond]));
const netRate = (d: FleetDomain) =>
  sum(d.interfaces?.flatMap((i) => [i.rxBytes?.perSecond, i.txBytes?.perSecond]));

const COLUMNS: Column[] = [
  { key: "name", title: "Name", value: (d) => d.name, show: (d) => d.name },
  { key: "host", title: "Host", value: (d) => d.host, show: (d) => d.host },
  {
    key: "state",
    title: "State",
    value: (d) => d.state?.state ?? null,
    show: (d) => d.state?.state ?? "–",
  },
  {
    key: "cpu",
    title: "CPU",
    numeric: true,
    value: (d) => d.cpu?.hostCpuRatio ?? null,
    show: (d) => percent(d.cpu?.hostCpuRatio),
  },
  {
    key: "vcpus",
    title: "vCPUs",
    numeric: true,
    value: (d) => d.vcpus?.current ?? null,
    show: (d) => String(d.vcpus?.current ?? "–"),
  },
  {
    key: "memory",
    title: "Memory",
    numeric: true,
    value: (d) => d.memory?.currentBytes ?? null,
    show: (d) => bytes(d.memory?.currentBytes),
  },
  {
    key: "used",
    title: "Used (guest)",
    numeric: true,
    value: (d) => d.memory?.usedBytes ?? null,
    show: (d) => bytes(d.memory?.usedBytes),
  },
  { key: "disk", title: "Disk", numeric: true, value: diskRate, show: (d) => bytesPerSecond(diskRate(d)) },
  { key: "net", title: "Network", numeric: true, value: netRate, show: (d) => bytesPerSecond(netRate(d)) },
];

function compare(col: Column, desc: boolean): (a: FleetDomain, b: FleetDomain) => number {
  return (a, b) => {
    const x = col.value(a);
    const y = col.value(b);
    if (x === null || y === null) return x === null ? (y === null ? 0 : 1) : -1; // unknown last
    const c = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
    return desc ? -c : c;
  };
}

function globTest(pattern: string): (s: string) => boolean {
  const p = pattern.trim().toLowerCase();
  if (!p) return () => true;
  if (!p.includes("*")) return (s) => s.toLowerCase().includes(p);
  const re = new RegExp(
    `^${p
      .split("*")
      .map((x) => x.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*")}$`,
  );
  return (s) => re.test(s.toLowerCase());
}

function labelsOf(d: FleetDomain): Record<string, string | null | undefined> {
  const n = d.metadata?.nova;
  return {
    title: d.metadata?.title,
    project_name: n?.projectName,
    user_name: n?.userName,
    flavor: n?.flavorName,
    instance_name: n?.instanceName,
  };
}

/** One usage line of a host card: a label and its value, over a bar of `ratio` (a meter, for screen readers too). */
function usageLine(what: string, ratio: number | null, value: string): HTMLElement {
  const pct = ratio === null ? null : Math.round(Math.min(1, Math.max(0, ratio)) * 100);
  const level = pct === null ? "" : pct >= 90 ? " bad" : pct >= 75 ? " warn" : "";
  return h(
    "div",
    { class: "usage", "data-usage": what.toLowerCase() },
    h("span", { class: "usage-label muted" }, what),
    h("span", { class: "usage-value" }, value),
    h(
      "span",
      {
        class: `bar${level}`,
        role: "meter",
        "aria-label": what,
        "aria-valuemin": 0,
        "aria-valuemax": 100,
        "aria-valuenow": pct,
        "aria-valuetext": value,
      },
      h("span", { style: `width: ${pct ?? 0}%` }),
    ),
  );
}

function hostUsage(host: HostView): HTMLElement[] {
  const used = host.memoryUsedBytes;
  const total = host.memoryTotalBytes;
  const memory = used !== null && total !== null && total > 0 ? used / total : null;
  return [
    usageLine("CPU", host.cpuUsageRatio, percent(host.cpuUsageRatio)),
    usageLine("Memory", memory, memory === null ? "–" : `${bytes(used)} of ${bytes(total)}`),
  ];
}

function hostCard(host: HostView, domains: FleetDomain[]): HTMLElement {
  const states = new Map<string, number>();
  for (const d of domains)
    states.set(d.state?.state ?? "unknown", (states.get(d.state?.state ?? "unknown") ?? 0) + 1);
  const health = !host.agentUp ? "down" : !host.libvirtReachable ? "degraded" : "ok";
  return h(
    "div",
    { class: `card host ${health}`, "data-host": host.name },
    h("div", { class: "host-name" }, h("span", { class: `dot ${health}` }), host.name),
    h(
      "div",
      { class: "muted" },
      host.agentUp ? "agent up" : "agent down",
      " · ",
      host.libvirtReachable ? "libvirt reachable" : "libvirt unreachable",
    ),
    h("div", { class: "muted" }, `last push ${ago(host.lastPushAt)}`),
    ...hostUsage(host),
    h("div", {}, [...states].map(([s, n]) => `${n} ${s}`).join(" · ") || "no domains"),
  );
}

export const fleetPage: Page = (main, session, onAuthLost) => {
  let all: FleetDomain[] = [];
  let hosts: HostView[] = [];
  /** Sparkline points by spark key, then domain UUID. */
  const sparks = new Map<string, Map<string, Points>>();
  let shown: FleetDomain[] = [];
  let sortCol = COLUMNS.find((c) => c.key === "cpu")!;
  let sortDesc = true;
  let firstRender = true;

  const hostsEl = h("section", { class: "hosts", "aria-label": "Hosts" });
  const status = h("p", { class: "status", role: "status" });
  const filterName = h("input", {
    type: "search",
    placeholder: "name (* wildcards)",
    "aria-label": "Filter by name",
  });
  const filterHost = h("select", { "aria-label": "Filter by host" });
  const filterState = h("select", { "aria-label": "Filter by state" });
  const filterLabel = h("input", {
    type: "search",
    placeholder: "label=value",
    "aria-label": "Filter by label",
  });
  const count = h("span", { class: "muted count" });
  const head = h("div", { class: "row head", role: "row" });
  const spacer = h("div", { class: "spacer" });
  const body = h("div", { class: "rows", role: "rowgroup" });
  const viewport = h(
    "div",
    { class: "viewport", role: "table", "aria-label": "Domains" },
    head,
    h("div", { class: "scroller" }, spacer, body),
  );
  const scroller = viewport.querySelector(".scroller") as HTMLElement;

  const filters = h("div", { class: "filters" }, filterName, filterHost, filterState, filterLabel, count);
  // Shown once the first answer is in, at their final size: nothing on screen moves when the data arrives.
  const content = [hostsEl, filters, viewport];
  for (const el of content) el.hidden = true;
  fill(main, h("h1", {}, "Fleet"), ...content.slice(0, 2), status, viewport);

  const renderHead = () => {
    fill(
      head,
      ...COLUMNS.map((c) =>
        h(
          "button",
          {
            type: "button",
            role: "columnheader",
            class: `cell col-${c.key}${c.numeric ? " num" : ""}`,
            "data-sort": c === sortCol ? (sortDesc ? "desc" : "asc") : null,
            "aria-sort": c === sortCol ? (sortDesc ? "descending" : "ascending") : "none",
            onclick: () => {
              if (sortCol === c) sortDesc = !sortDesc;
              else {
                sortCol = c;
                sortDesc = !!c.numeric;
              }
              apply();
            },
          },
          c.title,
        ),
      ),
      ...SPARKS.map((sp) =>
        h("span", { class: `cell col-spark spark-${sp.key}`, role: "columnheader" }, sp.title),
      ),
    );
  };

  const renderRows = () => {
    const top = scroller.scrollTop;
    const height = scroller.clientHeight || 600;
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(shown.length, Math.ceil((top + height) / ROW_HEIGHT) + OVERSCAN);
    const rows: HTMLElement[] = [];
    for (let i = first; i < last; i++) {
      const d = shown[i]!;
      const canvases = SPARKS.map((sp) =>
        h("canvas", { class: `spark spark-${sp.key}`, "aria-hidden": "true" }),
      );
      const row = h(
        "a",
        {
          class: "row",
          role: "row",
          href: `#/domain/${encodeURIComponent(d.host)}/${encodeURIComponent(d.name)}`,
          style: `transform: translateY(${i * ROW_HEIGHT}px)`,
          "data-domain": d.name,
          "data-state": d.state?.state ?? "unknown",
        },
        ...COLUMNS.map((c) =>
          h("span", { class: `cell col-${c.key}${c.numeric ? " num" : ""}`, role: "cell" }, c.show(d)),
        ),
        ...canvases.map((canvas) => h("span", { class: "cell col-spark", role: "cell" }, canvas)),
      );
      rows.push(row);
      requestAnimationFrame(() =>
        SPARKS.forEach((sp, k) => drawSparkline(canvases[k]!, sparks.get(sp.key)?.get(d.uuid), sp.max)),
      );
    }
    body.replaceChildren(...rows);
  };

  const apply = () => {
    const nameOk = globTest(filterName.value);
    const host = filterHost.value;
    const state = filterState.value;
    const [lk, lv] = filterLabel.value.includes("=") ? filterLabel.value.split("=", 2) : [null, null];
    shown = all
      .filter(
        (d) =>
          nameOk(d.name) &&
          (!host || d.host === host) &&
          (!state || d.state?.state === state) &&
          (lk === null || labelsOf(d)[lk.trim()] === lv!.trim()),
      )
      .sort(compare(sortCol, sortDesc));
    spacer.style.height = `${shown.length * ROW_HEIGHT}px`;
    count.textContent = `${shown.length} of ${all.length} domains`;
    renderHead();
    renderRows();
    if (firstRender && all.length > 0) {
      firstRender = false;
      performance.mark("kvmon:fleet-interactive");
    }
  };

  const options = (sel: HTMLSelectElement, label: string, values: string[]) => {
    const keep = sel.value;
    fill(sel, h("option", { value: "" }, label), ...values.map((v) => h("option", { value: v }, v)));
    sel.value = values.includes(keep) ? keep : "";
  };

  const load = async () => {
    const now = Date.now() / 1000;
    try {
      const [d, hs] = await Promise.all([session.client.domains({ limit: 1000 }), session.client.hosts()]);
      all = d.domains;
      hosts = hs.hosts;
      status.textContent =
        d.total > d.domains.length ? `Showing the first ${d.domains.length} of ${d.total} domains.` : "";
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return onAuthLost();
      for (const el of content) el.hidden = false;
      status.textContent = `Could not load the fleet: ${(e as Error).message}. Retrying in 10 s.`;
      status.className = "status error";
      return;
    }
    status.className = "status";
    if (hosts.length === 0)
      fill(
        hostsEl,
        h(
          "div",
          { class: "card empty" },
          h("strong", {}, "No agents have pushed yet. "),
          "Register a host with ",
          h("code", {}, "kvmon server host add <name>"),
          " and start its agent with ",
          h("code", {}, "kvmon agent --push-url <this server> --push-token-file <file>"),
          ".",
        ),
      );
    else
      fill(
        hostsEl,
        ...hosts.map((x) =>
          hostCard(
            x,
            all.filter((d) => d.host === x.name),
          ),
        ),
      );
    options(
      filterHost,
      "all hosts",
      hosts.map((x) => x.name),
    );
    options(filterState, "all states", [...new Set(all.map((d) => d.state?.state ?? "unknown"))].sort());
    for (const el of content) el.hidden = false;
    apply();
    // Whole minutes only: a counter's rate comes from the last value of each step, and a step still filling
    // would show a share of an interval's increase as a drop at the line's end.
    const end = Math.floor(now / 60) * 60;
    for (const sp of SPARKS) {
      const agg = sp.rate ? "last" : "avg";
      Promise.all(
        sp.metrics.map((metric) => session.client.series({ metric, start: end - 3600, end, step: 60, agg })),
      )
        .then((answers) => {
          sparks.set(sp.key, summedBy("uuid", sp.rate ? answers.map(rated) : answers));
          renderRows();
        })
        .catch(() => undefined); // a sparkline is decoration: its absence says enough
    }
  };

  for (const el of [filterName, filterLabel]) el.addEventListener("input", apply);
  for (const el of [filterHost, filterState]) el.addEventListener("change", apply);
  let pending = false;
  const onScroll = () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      renderRows();
    });
  };
  scroller.addEventListener("scroll", onScroll, { passive: true });
  renderHead();
  void load();
  const timer = setInterval(() => void load(), REFRESH_MS);
  return () => clearInterval(timer);
};
