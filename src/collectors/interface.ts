/**
 * Per-NIC traffic (bulk stats group INTERFACE): rx/tx bytes, packets, errors and drops, keyed by the host-side
 * device (vnetN). The MAC, model and bridge come from the cached XML metadata (kvmon_domain_interface_info),
 * because tap names change across restarts and the MAC is the stable key.
 */
import { counterValue } from "../model/rate.ts";
import type { InterfaceSample } from "../model/types.ts";
import { DomainStatsGroup } from "../protocol/libvirt/types.ts";
import { counter, emitPresent, type MetricSpec } from "../metrics/catalog.ts";
import type { DomainCollector } from "./types.ts";

type CounterKey = Exclude<keyof InterfaceSample, "name" | "mac">;

// [model key, bulk stat field, metric name suffix, help]
const FIELDS: ReadonlyArray<[CounterKey, string, string, string]> = [
  ["rxBytes", "rx.bytes", "receive_bytes_total", "Bytes received by the guest."],
  ["rxPackets", "rx.pkts", "receive_packets_total", "Packets received by the guest."],
  ["rxErrors", "rx.errs", "receive_errors_total", "Receive errors."],
  ["rxDrops", "rx.drop", "receive_drops_total", "Received packets dropped."],
  ["txBytes", "tx.bytes", "transmit_bytes_total", "Bytes sent by the guest."],
  ["txPackets", "tx.pkts", "transmit_packets_total", "Packets sent by the guest."],
  ["txErrors", "tx.errs", "transmit_errors_total", "Transmit errors."],
  ["txDrops", "tx.drop", "transmit_drops_total", "Transmitted packets dropped."],
];

const SPECS: ReadonlyArray<[CounterKey, MetricSpec]> = FIELDS.map(([key, field, suffix, help]) => [
  key,
  counter(
    `kvmon_domain_interface_${suffix}`,
    `${help} (Guest's view: the host tap's tx is the guest's rx; libvirt already swaps them.)`,
    { labels: ["interface"], source: `net.N.${field}` },
  ),
]);

export const interfaceCollector: DomainCollector = {
  kind: "domain",
  name: "interface",
  description: "per NIC: rx/tx bytes, packets, errors, drops",
  defaultEnabled: true,
  statsGroups: DomainStatsGroup.INTERFACE,
  metrics: SPECS.map(([, s]) => s),
  collect(input, out) {
    const { stats, elapsedSeconds: dt, restarted } = input;
    if (!input.active) {
      out.interfaces = null;
      return;
    }
    const nics: InterfaceSample[] = [];
    for (let i = 0; i < stats.count("net"); i++) {
      const p = `net.${i}.`;
      const name = stats.str(`${p}name`);
      if (name === undefined) continue;
      const prev = input.previous?.interfaces?.find((n) => n.name === name);
      const nic: InterfaceSample = {
        name,
        mac: input.metadata?.interfaces.find((x) => x.targetDev === name)?.mac ?? null,
        rxBytes: null,
        rxPackets: null,
        rxErrors: null,
        rxDrops: null,
        txBytes: null,
        txPackets: null,
        txErrors: null,
        txDrops: null,
      };
      for (const [key, field] of FIELDS) {
        const v = stats.num(p + field);
        // A reused tap name after a restart is a different device: `restarted` resets its counters.
        nic[key] = v === undefined ? null : counterValue(v, prev?.[key], dt, restarted);
      }
      nics.push(nic);
    }
    out.interfaces = nics;
  },
  expose(sample, emit) {
    const opt = emitPresent(emit);
    for (const nic of sample.interfaces ?? []) {
      const l = [nic.name];
      for (const [key, spec] of SPECS) opt(spec, nic[key], l);
    }
  },
};
