/**
 * The decisions of `up` and `down` against an in-memory libvirt: reuse, recreate, refuse, and never touch a
 * domain without the lab marker. No root, no libvirtd.
 */
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { labPaths } from "./config.ts";
import { guestDomainXml, parseDomainXml } from "./domain-xml.ts";
import type { LabImage } from "./image.ts";
import type { LabContext } from "./context.ts";
import { removeLabDomains, startGuests } from "./lab.ts";
import type { DomainListEntry, LabLibvirt } from "./virsh.ts";

/** In-memory libvirt recording every state-changing call. */
function fakeLibvirt(initial: Record<string, { xml: string; state: string }>) {
  const domains = new Map(Object.entries(initial));
  const calls: string[] = [];
  const get = (name: string) => {
    const d = domains.get(name);
    if (!d) throw new Error(`no domain ${name}`);
    return d;
  };
  const lv: LabLibvirt = {
    async define(xml) {
      const name = /<name>([^<]+)<\/name>/.exec(xml)![1]!;
      if (domains.has(name)) throw new Error(`domain '${name}' already exists`);
      calls.push(`define ${name}`);
      domains.set(name, { xml, state: "shut off" });
    },
    async start(name) {
      calls.push(`start ${name}`);
      get(name).state = "running";
    },
    async destroy(name) {
      calls.push(`destroy ${name}`);
      get(name).state = "shut off";
    },
    async undefine(name) {
      calls.push(`undefine ${name}`);
      get(name);
      domains.delete(name);
    },
    async list(): Promise<DomainListEntry[]> {
      return [...domains].map(([name, d]) => ({ name, state: d.state, id: undefined }));
    },
    async domstate(name) {
      return get(name).state;
    },
    async dumpxml(name) {
      return get(name).xml;
    },
    agentCommand: () => Promise.reject(new Error("unused")),
    kvmSupported: async () => false,
  };
  return { lv, calls, domains };
}

let dir: string;
let image: LabImage;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "kvmon-lab-test-"));
  const template = join(dir, "data.qcow2");
  await writeFile(template, "qcow2");
  image = {
    hash: "new",
    kernelVersion: "6.1.0-56-amd64",
    kernel: "/k",
    initrd: "/i",
    dataTemplate: template,
    bootDisk: "/b",
    modules: [],
  };
});
after(() => rm(dir, { recursive: true, force: true }));

function ctxWith(lv: LabLibvirt): LabContext {
  return { lv, paths: labPaths(join(dir, "lab")), progress: () => {} };
}

function labXml(name: string, hash: string): string {
  return guestDomainXml({
    name,
    imageHash: hash,
    kernel: "/k",
    initrd: "/i",
    dataDisk: "/d",
    mac: "52:54:00:6b:76:01",
    consoleLog: "/l",
  });
}

const foreignXml = (name: string) => `<domain type='kvm'>\n  <name>${name}</name>\n</domain>\n`;

test("startGuests keeps running current guests, recreates stale ones, defines missing ones", async () => {
  const { lv, calls, domains } = fakeLibvirt({
    "kvmon-lab-1": { xml: labXml("kvmon-lab-1", "new"), state: "running" },
    "kvmon-lab-2": { xml: labXml("kvmon-lab-2", "old"), state: "running" },
  });
  const kept = await startGuests(ctxWith(lv), image, ["kvmon-lab-1", "kvmon-lab-2", "kvmon-lab-3"]);
  assert.deepEqual(kept, ["kvmon-lab-1"]);
  assert.deepEqual(calls.sort(), [
    "define kvmon-lab-2",
    "define kvmon-lab-3",
    "destroy kvmon-lab-2",
    "start kvmon-lab-2",
    "start kvmon-lab-3",
    "undefine kvmon-lab-2",
  ]);
  assert.equal(parseDomainXml(domains.get("kvmon-lab-2")!.xml).lab?.image, "new");
  assert.deepEqual((await readdir(join(dir, "lab", "guests"))).sort(), [
    "kvmon-lab-2.qcow2",
    "kvmon-lab-3.qcow2",
  ]);
});

test("startGuests refuses a same-named domain without the lab marker", async () => {
  const { lv, calls } = fakeLibvirt({ "kvmon-lab-1": { xml: foreignXml("kvmon-lab-1"), state: "running" } });
  await assert.rejects(startGuests(ctxWith(lv), image, ["kvmon-lab-1"]), /not made by the lab/);
  assert.deepEqual(calls, []);
});

test("removeLabDomains removes marked lab domains only", async () => {
  const { lv, calls, domains } = fakeLibvirt({
    "kvmon-lab-1": { xml: labXml("kvmon-lab-1", "new"), state: "running" },
    "kvmon-lab-kvm": { xml: labXml("kvmon-lab-kvm", "new"), state: "shut off" },
    "kvmon-lab-imposter": { xml: foreignXml("kvmon-lab-imposter"), state: "running" },
    "production-db": { xml: labXml("production-db", "new"), state: "running" },
  });
  const removed = await removeLabDomains(ctxWith(lv));
  assert.deepEqual(removed.sort(), ["kvmon-lab-1", "kvmon-lab-kvm"]);
  assert.deepEqual(calls.sort(), ["destroy kvmon-lab-1", "undefine kvmon-lab-1", "undefine kvmon-lab-kvm"]);
  assert.deepEqual([...domains.keys()].sort(), ["kvmon-lab-imposter", "production-db"]);
});
