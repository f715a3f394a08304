/** File-level guards for integration tests that hold a resource (e.g. one libvirt client) for the whole file. */
import assert from "node:assert/strict";
import { after, before } from "node:test";

/**
 * Registers `before`/`after` hooks around `setup`/`teardown`: the file fails if a promise rejection went
 * unhandled while it ran, or if a handle (socket, timer) opened since before `setup` is still open after
 * `teardown`, i.e. the resource's close() left something behind.
 */
export function guardLeaks(setup: () => Promise<void>, teardown: () => Promise<void>): void {
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  let baseline: string[] = [];
  before(async () => {
    process.on("unhandledRejection", onUnhandled);
    baseline = process.getActiveResourcesInfo().sort();
    await setup();
  });
  after(async () => {
    await teardown();
    process.off("unhandledRejection", onUnhandled);
    assert.deepEqual(unhandled, [], "unhandled promise rejections");
    assert.deepEqual(process.getActiveResourcesInfo().sort(), baseline, "handles left open after close()");
  });
}
