/**
 * Helpers for the guest view's lab tests: the view opened on qemu:///system with short tiers and waited for
 * until the guest's agent answers, and shell commands run in a lab guest through its agent (the witness).
 */
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { type CustomCommand, type GuestSource, openGuestView } from "../src/collectors/guest/index.ts";
import type { DomainTarget } from "../src/collectors/types.ts";
import { guestExec } from "../src/lab/workload.ts";
import type { GuestSample } from "../src/model/types.ts";
import { LibvirtClient } from "../src/protocol/libvirt/index.ts";

export const GUEST_URI = "qemu:///system";

export interface LabGuestView {
  dom: DomainTarget;
  source: GuestSource;
  /** A fetch after every tier is due again (tiers are 1 s): the guest's whole view, read now. */
  fresh(): Promise<GuestSample>;
  close(): Promise<void>;
}

/** The guest view of `guest` (with the custom commands given) with every tier at 1 s, once its agent answered through the view's connection. */
export async function openLabGuestView(
  guest: string,
  custom: readonly CustomCommand[] = [],
): Promise<LabGuestView> {
  const view = openGuestView({
    uri: GUEST_URI,
    tiers: { fast: 1, medium: 1, slow: 1 },
    callTimeoutMs: 3000,
    custom,
  });
  const c = await LibvirtClient.open(GUEST_URI);
  try {
    const dom = await c.lookupByName(guest);
    const fetch = () => view.source.fetch(dom, new AbortController().signal);
    let g = await fetch();
    for (let i = 0; i < 20 && g.agent.status !== "connected"; i++) {
      await sleep(250); // the view's own connection may still be opening
      view.source.agentLifecycle(dom.uuid, true);
      g = await fetch();
    }
    assert.equal(g.agent.status, "connected", g.agent.lastError ?? "");
    let last = Date.now();
    return {
      dom,
      source: view.source,
      async fresh() {
        await sleep(Math.max(0, last + 1050 - Date.now()));
        last = Date.now();
        return fetch();
      },
      close: () => view.close(),
    };
  } catch (e) {
    await view.close();
    throw e;
  } finally {
    await c.close();
  }
}

/** `sh -c script` in a lab guest through its agent; its stdout, or a failed assertion naming stderr. */
export async function guestSh(guest: string, script: string): Promise<string> {
  const r = await guestExec(guest, ["/bin/sh", "-c", script], { timeoutMs: 60_000 });
  assert.equal(r.exitcode, 0, `${guest}: ${script}: ${r.stderr}`);
  return r.stdout;
}

/** The value of the one series of `family` whose labels include all of `labels`, or undefined. */
export function seriesValue(
  text: string,
  family: string,
  labels: Record<string, string>,
): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${family}{`)) continue;
    const labelText = line.slice(family.length + 1, line.lastIndexOf("}"));
    if (want.every((w) => labelText.split(",").includes(w)))
      return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return undefined;
}
