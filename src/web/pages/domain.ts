/**
 * One domain: a header with what the host and the guest agent say (state, host, vCPUs, memory, OS, IPs,
 * users), a range picker (15 min .. 30 days; the server answers long ranges from rollups, the step is its
 * default range / 250) and the charts, which share a cursor and zoom together by dragging. Lifecycle events are
 * marked on every chart's time axis.
 */
import { ApiError } from "../../api/errors.ts";
import type { DomainView, StoredEvent } from "../../api/types.ts";
import { Chart, type ChartSpec, type TimeRange } from "../chart.ts";
import { h, fill } from "../dom.ts";
import { fillUp, fillUpText } from "../forecast.ts";
import { ago, bytes, percent } from "../format.ts";
import type { NamedPoints } from "../series.ts";
import type { Page } from "../page.ts";
import { canOperate } from "../session.ts";
import { consoleCard } from "./domain-console.ts";
import { diskAuditCard } from "./domain-audit.ts";
import { commandCard, tracingCard } from "./domain-control.ts";

export const RANGES: ReadonlyArray<[string, number]> = [
  ["15 min", 900],
  ["1 h", 3600],
  ["6 h", 6 * 3600],
  ["24 h", 86400],
  ["7 d", 7 * 86400],
  ["30 d", 30 * 86400],
];

const EXIT_COUNTERS = "exits|io_exits|mmio_exits|halt_exits|irq_exits|irq_window_exits|insn_emulation";

const CHARTS: ChartSpec[] = [
  {
    id: "cpu",
    title: "CPU",
    unit: "percent",
    empty: "No CPU samples in this range: the domain was not running, or its host's agent was not pushing.",
    queries: [
      { metric: "kvmon_domain_cpu_usage_ratio", name: () => "host view (1 = one host CPU)" },
      { metric: "kvmon_domain_cpu_vcpu_usage_ratio", name: () => "of its vCPUs (1 = all busy)" },
      {
        // Host-side steal: the time a vCPU was runnable but waited for a host CPU.
        metric: "kvmon_domain_vcpu_delay_seconds_total",
        rate: true,
        name: (l) => `vCPU ${l.vcpu ?? "?"} steal (waiting for a host CPU)`,
      },
      { metric: "kvmon_guest_cpu_ratio", match: ["mode!=idle"], name: (l) => `guest ${l.mode ?? ""}` },
    ],
  },
  {
    id: "memory",
    title: "Memory",
    unit: "bytes",
    empty: "No memory samples in this range.",
    queries: [
      { metric: "kvmon_domain_memory_current_bytes", name: () => "balloon (assigned)" },
      { metric: "kvmon_domain_memory_used_bytes", name: () => "used (balloon stats)" },
      { metric: "kvmon_domain_memory_rss_bytes", name: () => "QEMU RSS" },
      { metric: "kvmon_guest_memory_available_bytes", name: () => "guest available" },
    ],
  },
  {
    id: "disk",
    title: "Disk throughput",
    unit: "bytesPerSecond",
    empty: "No disk I/O in this range (or the domain has no disks).",
    queries: [
      { metric: "kvmon_domain_block_read_bytes_total", rate: true, name: (l) => `${l.device} read` },
      { metric: "kvmon_domain_block_write_bytes_total", rate: true, name: (l) => `${l.device} write` },
    ],
  },
  {
    id: "iops",
    title: "Disk IOPS",
    unit: "opsPerSecond",
    empty: "No disk requests in this range.",
    queries: [
      { metric: "kvmon_domain_block_read_requests_total", rate: true, name: (l) => `${l.device} reads` },
      { metric: "kvmon_domain_block_write_requests_total", rate: true, name: (l) => `${l.device} writes` },
    ],
  },
  {
    id: "latency",
    title: "Disk latency (per request)",
    unit: "seconds",
    empty: "No disk requests in this range, so no latency: it is the time spent per request completed.",
    queries: (["read", "write", "flush"] as const).map((op) => ({
      metric: `kvmon_domain_block_${op}_time_seconds_total`,
      divideBy: `kvmon_domain_block_${op}_requests_total`,
      rate: true,
      name: (l: Record<string, string>) => `${l.device} ${op}`,
    })),
  },
  {
    id: "net",
    title: "Network",
    unit: "bytesPerSecond",
    empty: "No network traffic in this range (or the domain has no interfaces).",
    queries: [
      { metric: "kvmon_domain_interface_receive_bytes_total", rate: true, name: (l) => `${l.interface} rx` },
      { metric: "kvmon_domain_interface_transmit_bytes_total", rate: true, name: (l) => `${l.interface} tx` },
    ],
  },
  {
    id: "fs",
    title: "Guest filesystems (used)",
    unit: "percent",
    empty:
      "No filesystem data: this needs the QEMU guest agent in the VM (qemu-guest-agent); without it, filesystems, users, IPs and the guest's own CPU and memory view stay hidden.",
    queries: [
      {
        metric: "kvmon_guest_filesystem_used_bytes",
        divideBy: "kvmon_guest_filesystem_size_bytes",
        name: (l) => l.mountpoint ?? "?",
      },
    ],
    note: fillUpNotes,
  },
  {
    id: "exits",
    title: "KVM exits",
    unit: "opsPerSecond",
    empty:
      "No KVM statistics in this range: a guest emulated by TCG (domain type 'qemu') has none, and a KVM guest needs libvirt ≥ 7.1 with query-stats.",
    queries: [
      {
        metric: "kvmon_domain_kvm_events_total",
        match: [`counter=~${EXIT_COUNTERS}`],
        rate: true,
        name: (l) => l.counter ?? "?",
      },
    ],
  },
];

/** "/var: full in ~3 d" for each filesystem whose fullness has a meaningful rising trend (forecast.ts). */
function fillUpNotes(series: NamedPoints[]): Node | null {
  const lines = series.flatMap((s) => {
    const f = fillUp(s.points);
    return f
      ? [
          h(
            "p",
            { class: "forecast", "data-mount": s.name, "data-seconds": Math.round(f.secondsToFull) },
            h("strong", {}, `${s.name}: ${fillUpText(f)}`),
            ` at the trend of the range shown (+${percent(f.slope * 86400)} a day)`,
          ),
        ]
      : [];
  });
  return lines.length > 0 ? h("div", {}, ...lines) : null;
}

function fact(label: string, value: string | Node): HTMLElement {
  return h(
    "div",
    { class: "fact" },
    h("span", { class: "muted" }, label),
    h("span", { class: "value" }, value),
  );
}

function header(v: DomainView): HTMLElement {
  const d = v.host;
  const g = v.guest;
  const os = g?.identity?.osPrettyName ?? g?.identity?.osName ?? null;
  const ips = (g?.interfaces ?? [])
    .flatMap((i) => i.addresses)
    .filter((a) => !a.address.startsWith("127.") && a.address !== "::1")
    .map((a) => a.address);
  const users = [...new Set((g?.users ?? []).map((u) => u.name))];
  const noAgent = !g || g.agent.status !== "connected";
  return h(
    "section",
    { class: "card domain-header" },
    h(
      "h1",
      {},
      d.name,
      " ",
      h("span", { class: `badge state-${d.state?.state ?? "unknown"}` }, d.state?.state ?? "unknown"),
    ),
    h(
      "div",
      { class: "facts" },
      fact("host", v.hostName),
      fact("vCPUs", String(d.vcpus?.current ?? "–")),
      fact("memory", bytes(d.memory?.currentBytes)),
      fact("OS", os ?? "–"),
      fact("IPs", ips.join(", ") || "–"),
      fact("users", users.join(", ") || "–"),
      fact("collected", ago(v.collectedAt)),
    ),
    noAgent &&
      h(
        "p",
        { class: "notice" },
        "No guest agent answers in this VM: OS, IPs, users, filesystems and the guest's own CPU and memory view are hidden. Install and start qemu-guest-agent in the guest.",
      ),
  );
}

export function domainPage(host: string, name: string): Page {
  return (main, session, onAuthLost) => {
    const now = () => Math.floor(Date.now() / 1000);
    let span = 3600;
    let range: TimeRange = { start: now() - span, end: now() };
    let zoomed = false;
    const headerEl = h("div", {}, h("p", { class: "muted" }, "Loading…"));
    const picker = h("div", { class: "ranges", role: "group", "aria-label": "Time range" });
    const chartsEl = h("div", { class: "charts" });
    const matchers = [`host=${host}`, `domain=${name}`];
    const charts = CHARTS.map(
      (spec) => new Chart(spec, session.client, matchers, `kvmon-${host}-${name}`, zoom),
    );
    fill(main, h("p", {}, h("a", { href: "#/" }, "← Fleet")), headerEl, picker, chartsEl);
    chartsEl.append(...charts.map((c) => c.el));
    const operator = canOperate(session);
    const tracing = tracingCard(session.client, host, name, operator);
    const serial = operator ? consoleCard(session.client, host, name) : null;
    const operate = h(
      "div",
      { class: "operate" },
      tracing.el,
      operator && commandCard(session.client, host, name),
      diskAuditCard(session.client, host, name, operator),
    );
    main.append(operate);
    if (serial) main.append(serial.el);
    // What is below the header shows once the header is in (or failed), so the header does not push it down.
    const below = [picker, chartsEl, operate, ...(serial ? [serial.el] : [])];
    for (const el of below) el.hidden = true;

    function renderPicker() {
      fill(
        picker,
        ...RANGES.map(([label, seconds]) =>
          h(
            "button",
            {
              type: "button",
              class: !zoomed && span === seconds ? "active" : "",
              "aria-pressed": String(!zoomed && span === seconds),
              onclick: () => {
                span = seconds;
                zoomed = false;
                range = { start: now() - span, end: now() };
                void loadCharts();
              },
            },
            label,
          ),
        ),
        zoomed &&
          h(
            "span",
            { class: "muted" },
            ` zoomed: ${new Date(range.start * 1000).toLocaleString()} – ${new Date(range.end * 1000).toLocaleString()}`,
          ),
      );
    }

    function zoom(r: TimeRange) {
      zoomed = true;
      range = { start: Math.floor(r.start), end: Math.ceil(r.end) };
      void loadCharts();
    }

    async function loadCharts() {
      renderPicker();
      let events: StoredEvent[] = [];
      try {
        events = (await session.client.events({ host, domain: name, since: range.start * 1000, limit: 500 }))
          .events;
      } catch {
        events = []; // the charts still say what they can; events are marks on them
      }
      await Promise.all(charts.map((c) => c.load(range, events)));
      performance.mark("kvmon:domain-charts");
    }

    async function loadHeader() {
      try {
        fill(headerEl, header(await session.client.domain(host, name)));
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) return onAuthLost();
        fill(
          headerEl,
          h(
            "div",
            { class: "card error", role: "alert" },
            e instanceof ApiError && e.code === "DOMAIN_NOT_FOUND"
              ? `No domain '${name}' on host '${host}' in its latest snapshot.`
              : `Could not load this domain: ${(e as Error).message}`,
          ),
        );
      }
    }

    void loadHeader().finally(() => {
      for (const el of below) el.hidden = false;
    });
    void loadCharts();
    const timer = setInterval(() => {
      void loadHeader();
      if (!zoomed) {
        range = { start: now() - span, end: now() };
        void loadCharts();
      }
    }, 30_000);
    return () => {
      clearInterval(timer);
      tracing.stop();
      serial?.stop();
      for (const c of charts) c.destroy();
    };
  };
}
