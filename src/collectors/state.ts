/** State, reason and uptime of each domain (bulk stats group STATE; uptime from the QEMU process start). */
import { isActiveState, reasonName, stateName } from "../model/state.ts";
import { DomainStatsGroup } from "../protocol/libvirt/types.ts";
import { gauge } from "../metrics/catalog.ts";
import { StatsError } from "./errors.ts";
import type { DomainCollector } from "./types.ts";

const stateInfo = gauge(
  "kvmon_domain_state_info",
  "Current state and reason of the domain; always 1, the state is in the labels.",
  { labels: ["state", "reason"], source: "state.state, state.reason" },
);
const stateCode = gauge(
  "kvmon_domain_state_code",
  "virDomainState of the domain: 0 nostate, 1 running, 2 blocked, 3 paused, 4 shutdown, 5 shutoff, 6 crashed, 7 pmsuspended.",
  { source: "state.state" },
);
const active = gauge(
  "kvmon_domain_active",
  "1 if the domain has a running QEMU process (any state but shutoff), else 0.",
  { source: "state.state" },
);
const uptime = gauge("kvmon_domain_uptime_seconds", "Seconds since the domain's QEMU process started.", {
  source: "start time of the QEMU process (/run/libvirt/qemu/<name>.pid, /proc/<pid>/stat)",
});

export const stateCollector: DomainCollector = {
  kind: "domain",
  name: "state",
  description: "state and reason (running, paused on I/O error, crashed, ...), uptime",
  defaultEnabled: true,
  statsGroups: DomainStatsGroup.STATE,
  metrics: [stateInfo, stateCode, active, uptime],
  collect(input, out) {
    const code = input.stats.num("state.state");
    if (code === undefined) throw new StatsError("state.state", "record has no state.state");
    const state = stateName(code);
    const reasonCode = input.stats.num("state.reason") ?? 0;
    const started = input.processStartedAt;
    out.state = {
      state,
      code,
      reason: reasonName(state, reasonCode),
      reasonCode,
      active: isActiveState(state),
      uptimeSeconds:
        started !== undefined && isActiveState(state) ? Math.max(0, (input.now - started) / 1000) : null,
    };
  },
  expose(sample, emit) {
    const s = sample.state;
    if (!s) return;
    emit(stateInfo, 1, [s.state, s.reason]);
    emit(stateCode, s.code);
    emit(active, s.active ? 1 : 0);
    if (s.uptimeSeconds !== null) emit(uptime, s.uptimeSeconds);
  },
};
