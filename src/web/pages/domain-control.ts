/**
 * Acting on a domain from its page: KVM exit tracing (switch on for a duration; live counts by event, reason
 * and vCPU, and events per second over the run as a chart; the recent events as a table; the tracer's health;
 * when it switches itself off) and a command runner through the guest agent.
 * The switch and the runner are shown to operators only (the server refuses them to viewers anyway); every
 * call is written to the server's and the agent's audit logs, and the runner says so.
 */
import uPlot from "uplot";
import type { ApiClient } from "../../api/client.ts";
import { ApiError } from "../../api/errors.ts";
import type { RecentEvent, TraceCounts, TraceStatus } from "../../api/types.ts";
import { plotOptions } from "../chart.ts";
import { h, fill } from "../dom.ts";
import { perSecond } from "../format.ts";
import { align, perEvent } from "../series.ts";

const DURATIONS: ReadonlyArray<[string, number]> = [
  ["30 s", 30],
  ["1 min", 60],
  ["5 min", 300],
  ["15 min", 900],
];
const POLL_MS = 2000;
const TOP_ROWS = 15;
/** Recent events shown (the agent keeps more per domain). */
const RECENT_EVENTS = 20;

/** A control call's error in words, with what to do for the ones an operator meets. */
export function errorText(e: unknown): string {
  if (e instanceof ApiError && e.code === "AGENT_NOT_REGISTERED")
    return "The server cannot reach this host's agent for control calls: an admin registers it with `kvmon server host add <host> --agent-url URL --control-token-file FILE`.";
  if (e instanceof ApiError && e.code === "TRACER_UNAVAILABLE")
    return "This host's agent has no tracer (it runs only on the libvirt host).";
  return (e as Error).message;
}

/** A table of rows under `columns` (a name, and the class of its cells: "num" right-aligns). */
function table(
  cls: string,
  columns: Array<[string, string?]>,
  rows: Array<{ event: string; cells: string[] }>,
): HTMLElement {
  return h(
    "table",
    { class: cls },
    h("thead", {}, h("tr", {}, ...columns.map(([name, c]) => h("th", { class: c }, name)))),
    h(
      "tbody",
      {},
      ...rows.map((r) =>
        h("tr", { "data-event": r.event }, ...r.cells.map((v, i) => h("td", { class: columns[i]?.[1] }, v))),
      ),
    ),
  );
}

function countsTable(c: TraceCounts): HTMLElement {
  return table(
    "counts",
    [["vCPU"], ["event"], ["reason"], ["count", "num"], ["rate", "num"]],
    c.rows.slice(0, TOP_ROWS).map((r) => ({
      event: r.event,
      cells: [
        String(r.vcpu),
        r.event,
        r.reason || "–",
        String(r.count),
        perSecond(c.seconds > 0 ? r.count / c.seconds : null, ""),
      ],
    })),
  );
}

function clock(epochMs: number): string {
  const d = new Date(epochMs);
  return `${d.toLocaleTimeString([], { hour12: false })}.${String(d.getMilliseconds()).padStart(3, "0")}`;
}

/** The recent events, newest first; details as `key=value` (port, address, exit code). */
function recentTable(events: readonly RecentEvent[]): HTMLElement {
  return table(
    "counts recent",
    [["time"], ["vCPU"], ["event"], ["reason"], ["details", "details"]],
    [...events].reverse().map((e) => ({
      event: e.event,
      cells: [
        clock(e.time),
        String(e.vcpu),
        e.event,
        e.reason || "–",
        Object.entries(e.details)
          .map(([k, v]) => `${k}=${v}`)
          .join(" "),
      ],
    })),
  );
}

/** Events per second over the run, one line per event; redrawn at each refresh (a few hundred points). */
function rateChart(): { el: HTMLElement; show: (c: TraceCounts, on: boolean) => void; destroy: () => void } {
  const el = h("div", { class: "trace-chart" });
  let plot: uPlot | null = null;
  const destroy = () => {
    plot?.destroy();
    plot = null;
  };
  return {
    el,
    destroy,
    show(c, on) {
      const lines = perEvent(c.series, on);
      destroy();
      el.dataset.points = String(lines[0]?.points.length ?? 0);
      if (lines.length === 0) {
        fill(el, h("p", { class: "muted" }, "Events per second appear here after the first full second."));
        return;
      }
      el.replaceChildren();
      plot = new uPlot(
        plotOptions("opsPerSecond", el.clientWidth, lines),
        align(lines.map((l) => l.points)),
        el,
      );
    },
  };
}

export function tracingCard(
  client: ApiClient,
  host: string,
  name: string,
  canOperate: boolean,
): { el: HTMLElement; stop: () => void } {
  const state = h("p", { class: "trace-state", role: "status" }, "Tracing status: loading…");
  const counts = h("div", { class: "trace-counts" });
  const chart = rateChart();
  const recent = h("div", { class: "trace-recent" });
  const health = h("p", { class: "muted" });
  const duration = h(
    "select",
    { "aria-label": "Tracing duration" },
    ...DURATIONS.map(([l, s]) => h("option", { value: s }, l)),
  );
  const onButton = h("button", { type: "button", class: "trace-on" }, "Trace KVM exits");
  const offButton = h("button", { type: "button", class: "trace-off" }, "Stop");
  const error = h("p", { class: "error", role: "alert" });
  const el = h(
    "section",
    { class: "card tracing", "aria-label": "KVM exit tracing" },
    h("h2", {}, "KVM exit tracing"),
    canOperate && h("div", { class: "controls" }, duration, onButton, offButton),
    state,
    error,
    health,
    chart.el,
    counts,
    recent,
  );
  let timer: ReturnType<typeof setTimeout> | null = null;
  let stopped = false;

  const refresh = async () => {
    if (stopped) return;
    let status: TraceStatus;
    try {
      status = await client.traceStatus(host);
    } catch (e) {
      state.textContent = `Tracing status unavailable: ${errorText(e)}`;
      return;
    }
    const mine = status.domains.find((d) => d.domain === name);
    const on = mine?.on === true;
    el.dataset.tracing = on ? "on" : "off";
    state.textContent = on
      ? `Tracing is on: switches itself off at ${new Date(mine.until).toLocaleTimeString()} (in ${Math.max(0, Math.round((mine.until - Date.now()) / 1000))} s).`
      : mine
        ? `Tracing is off (last run stopped ${new Date(mine.stoppedAt ?? mine.until).toLocaleTimeString()}).`
        : "Tracing is off. It costs the host a little CPU while on and switches itself off after the chosen time.";
    onButton.disabled = on;
    offButton.disabled = !on;
    health.textContent = `Tracer: ${status.health.eventsRead} events read, ${status.health.eventsLost} lost, ${status.health.cpuSeconds.toFixed(2)} s CPU${status.silent.length ? `; silent events: ${status.silent.join(", ")}` : ""}.`;
    if (mine) {
      try {
        const [c, r] = await Promise.all([
          client.traceCounts(host, name),
          client.traceEvents(host, name, { limit: RECENT_EVENTS }),
        ]);
        el.dataset.total = String(c.total);
        chart.show(c, on);
        fill(counts, h("h3", {}, `${c.total} events in ${c.seconds.toFixed(0)} s`), countsTable(c));
        fill(recent, h("h3", {}, "Most recent events"), recentTable(r.events));
      } catch (e) {
        if (!(e instanceof ApiError && e.code === "NOT_TRACED"))
          fill(counts, h("p", { class: "error" }, errorText(e)));
      }
    }
    if (on && !stopped) timer = setTimeout(() => void refresh(), POLL_MS);
  };

  const act = (f: () => Promise<unknown>) => async () => {
    error.textContent = "";
    onButton.disabled = offButton.disabled = true;
    try {
      await f();
    } catch (e) {
      error.textContent = errorText(e);
    }
    if (timer) clearTimeout(timer);
    await refresh();
  };
  onButton.addEventListener(
    "click",
    act(() => client.traceOn(host, name, { durationSeconds: Number(duration.value) })),
  );
  offButton.addEventListener(
    "click",
    act(() => client.traceOff(host, name)),
  );
  void refresh();
  return {
    el,
    stop: () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      chart.destroy();
    },
  };
}

export function commandCard(client: ApiClient, host: string, name: string): HTMLElement {
  const input = h("input", {
    type: "text",
    name: "command",
    "aria-label": "Command",
    placeholder: "uname -a",
    autocomplete: "off",
  });
  const run = h("button", { type: "submit" }, "Run");
  const output = h("pre", { class: "exec-output", "aria-live": "polite" });
  const form = h(
    "form",
    { class: "card command", "aria-label": "Run a command" },
    h("h2", {}, "Run a command in the guest"),
    h(
      "p",
      { class: "notice audited" },
      "Audited: each command, its arguments and who ran it are recorded in the server's and the host agent's audit logs. Commands run through the QEMU guest agent, as its user (usually root), with /bin/sh -c.",
    ),
    h("div", { class: "controls" }, input, run),
    output,
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const command = input.value.trim();
    if (!command) return;
    run.disabled = true;
    output.dataset.state = "running";
    output.textContent = `$ ${command}\n…`;
    client
      .exec(host, name, { path: "/bin/sh", args: ["-c", command], timeout: 30 })
      .then(
        (r) => {
          output.dataset.state = "done";
          output.dataset.exitCode = String(r.exitCode);
          output.textContent = [
            `$ ${command}`,
            r.stdout.text ?? `(${r.stdout.bytes} bytes of binary output)`,
            r.stderr.bytes > 0 ? (r.stderr.text ?? "") : "",
            `[exit ${r.exitCode ?? "–"}${r.timedOut ? ", timed out" : ""}${r.truncated ? ", output cut" : ""}; ${r.durationMs.toFixed(0)} ms]`,
          ]
            .filter((x) => x !== "")
            .join("\n");
        },
        (e: unknown) => {
          output.dataset.state = "error";
          output.textContent = `$ ${command}\n${errorText(e)}`;
        },
      )
      .finally(() => {
        run.disabled = false;
      });
  });
  return form;
}
