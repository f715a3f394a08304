/**
 * What integration tests need from the lab that test/global-setup.ts brought up once for the whole run:
 * the guests' names and the KVM guest helper. Tests must not tear the lab down (others reuse it).
 */
import { guestNames, KVM_GUEST_NAME } from "../src/lab/config.ts";
import { kvmUnavailableReason } from "../src/lab/kvm-guest.ts";
import { labContext } from "../src/lab/context.ts";
import { withKvmLease } from "../src/lab/lab.ts";
import { progressReporter } from "../src/lab/progress.ts";

/** How many TCG guests the test lab runs. */
export const LAB_VMS = 2;

/** kvmon-lab-1 .. kvmon-lab-LAB_VMS, running with their guest agents answering. */
export const labGuests: readonly string[] = guestNames(LAB_VMS);

export const kvmGuest = KVM_GUEST_NAME;

function ctx() {
  return labContext(progressReporter((t) => process.stderr.write(`[lab] ${t}`)));
}

/** Why the KVM guest cannot run here (use as a test's `skip`), or false when it can. */
export async function kvmSkipReason(): Promise<string | false> {
  return (await kvmUnavailableReason(ctx())) ?? false;
}

/**
 * Runs `fn` with the KVM boot-sector guest running, and stops it afterwards whatever happens (it keeps a host
 * core busy, which would skew other measurements) unless another test run still holds a lease on it.
 */
export function withKvmGuest<T>(fn: (name: string) => Promise<T>): Promise<T> {
  return withKvmLease(ctx(), fn);
}
