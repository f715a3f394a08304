import assert from "node:assert/strict";
import { test } from "node:test";
import { reportSlowCalls } from "./context.ts";
import { silent, waitingFor } from "./progress.ts";
import type { LabLibvirt } from "./virsh.ts";

test("a wait says what it waits for after 3 s, then every 10 s, and stops when done", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const said: string[] = [];
  let finish!: (v: string) => void;
  const work = new Promise<string>((r) => (finish = r));
  const waited = waitingFor((m) => said.push(m), "libvirt define kvmon-lab-1", work);
  t.mock.timers.tick(2999);
  assert.deepEqual(said, [], "short waits stay quiet");
  t.mock.timers.tick(1);
  t.mock.timers.tick(10_000);
  assert.equal(said.length, 2);
  assert.match(said[0]!, /^waiting for libvirt define kvmon-lab-1 \(\d+ s so far\)$/);
  finish("done");
  assert.equal(await waited, "done");
  t.mock.timers.tick(60_000);
  assert.equal(said.length, 2, "nothing after the work settled");
});

test("a failed wait rejects with the work's error and stops reporting", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const said: string[] = [];
  const failing = waitingFor((m) => said.push(m), "apt-get update", Promise.reject(new Error("no network")));
  await assert.rejects(failing, /no network/);
  t.mock.timers.tick(60_000);
  assert.deepEqual(said, []);
});

test("every libvirt call of a lab context reports itself while slow; silent contexts are untouched", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  let release!: () => void;
  const lv = {
    define: () => new Promise<void>((r) => (release = r)),
    list: async () => [],
  } as unknown as LabLibvirt;
  assert.equal(reportSlowCalls(lv, silent), lv);
  const said: string[] = [];
  const wrapped = reportSlowCalls(lv, (m) => said.push(m));
  const defining = wrapped.define("<domain type='qemu'>...</domain>");
  assert.deepEqual(await wrapped.list(), []);
  t.mock.timers.tick(3000);
  // The XML argument is not quoted into the message; a domain name would be.
  assert.match(said.join("\n"), /^waiting for libvirt define \(\d+ s so far\)$/);
  release();
  await defining;
});
