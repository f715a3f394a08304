/**
 * Global setup for `node --test --test-global-setup=test/global-setup.ts`: brings the lab up ONCE for all
 * integration tests (progress on stderr). A warm lab (cached image, guests running) takes well under a
 * second; a cold one builds the image and boots the guests. There is no teardown: the lab stays up for the
 * next run and for other users of this host ('kvmon lab down' removes it).
 */
import { labContext } from "../src/lab/context.ts";
import { labKvmStopUnleased, labUp } from "../src/lab/lab.ts";
import { progressReporter } from "../src/lab/progress.ts";
import { LAB_VMS } from "./lab.ts";

export async function globalSetup(): Promise<void> {
  const ctx = labContext(progressReporter((t) => process.stderr.write(`[lab] ${t}`)));
  await labUp(ctx, { vms: LAB_VMS });
  // A KVM guest left running by an interrupted run would keep a core busy and skew measurements; one in
  // use by another test run (a live lease) is left alone.
  await labKvmStopUnleased(ctx);
}

export async function globalTeardown(): Promise<void> {}
