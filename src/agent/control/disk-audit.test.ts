/**
 * The disk audit endpoint through the whole hono app: token, query validation, no audit off the libvirt host,
 * the audit log's record, and the answer as the audit gave it. The audit itself runs on the lab
 * (test/integration/cli-server.test.ts, against `kvmon audit --json`).
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import type { DomainAudit } from "../../audit/types.ts";
import { ErrorCode, LibvirtError } from "../../protocol/libvirt/index.ts";
import { createApp } from "../http.ts";
import { Logger } from "../log.ts";
import { testAgent } from "../testing/setup.ts";
import { AuditLog, type AuditRecord } from "./audit.ts";
import type { DiskAuditRequest } from "../../model/control.ts";
import type { AuditDomain } from "./disk-audit.ts";
import { scriptedChannel, TEST_TOKEN, testDeps } from "./testing.ts";

const dir = await mkdtemp(join(tmpdir(), "kvmon-disk-audit-"));
after(() => rm(dir, { recursive: true, force: true }));

const auth = { authorization: `Bearer ${TEST_TOKEN}` };
const channel = scriptedChannel(() => ({}));

const audited = (name: string): DomainAudit => ({
  name,
  uuid: "0f9c1e4a-8c8b-4c39-9d4e-6a1f0d2b7e11",
  running: true,
  persistent: true,
  pid: 4242,
  disks: [],
  notes: ["scripted"],
});

/** An audit that records what it was asked and answers `audited(name)`. */
function scripted(calls: Array<[string, DiskAuditRequest]>): AuditDomain {
  return async (name, req) => {
    calls.push([name, req]);
    if (name === "gone")
      throw new LibvirtError({
        code: ErrorCode.NO_DOMAIN,
        message: "Domain not found: no domain with matching name 'gone'",
        domain: 10,
        level: 2,
        str1: null,
        str2: null,
        str3: null,
        int1: 0,
        int2: 0,
      });
    return audited(name);
  };
}

async function error(res: Response): Promise<{ code: string; message: string }> {
  return ((await res.json()) as { error: { code: string; message: string } }).error;
}

test("the audit needs the control token; without one configured it is CONTROL_DISABLED", async () => {
  const calls: Array<[string, DiskAuditRequest]> = [];
  const app = createApp(testAgent().agent, { control: testDeps(channel), diskAudit: scripted(calls) });
  const none = await app.request("/api/v1/domains/vm/audit");
  assert.equal(none.status, 401);
  assert.equal((await error(none)).code, "UNAUTHORIZED");
  const wrong = await app.request("/api/v1/domains/vm/audit", { headers: { authorization: "Bearer nope" } });
  assert.equal(wrong.status, 401);
  const off = createApp(testAgent().agent, { diskAudit: scripted(calls) });
  assert.equal(
    (await error(await off.request("/api/v1/domains/vm/audit", { headers: auth }))).code,
    "CONTROL_DISABLED",
  );
  assert.deepEqual(calls, [], "refused calls never reach the audit");
});

test("the answer is the domain's DomainAudit; qmp and windowMs are passed, defaults 0 and 2000", async () => {
  const calls: Array<[string, DiskAuditRequest]> = [];
  const app = createApp(testAgent().agent, { control: testDeps(channel), diskAudit: scripted(calls) });
  const plain = await app.request("/api/v1/domains/vm/audit", { headers: auth });
  assert.equal(plain.status, 200);
  assert.deepEqual(await plain.json(), audited("vm"));
  const asked = await app.request("/api/v1/domains/db%201/audit?qmp=1&windowMs=0", { headers: auth });
  assert.equal(asked.status, 200);
  assert.deepEqual(calls, [
    ["vm", { qmp: false, windowMs: 2000 }],
    ["db 1", { qmp: true, windowMs: 0 }],
  ]);
});

test("a bad query is 400 naming the field; an unknown domain 404; no audit here 503", async () => {
  const calls: Array<[string, DiskAuditRequest]> = [];
  const app = createApp(testAgent().agent, { control: testDeps(channel), diskAudit: scripted(calls) });
  for (const [qs, field] of [
    ["qmp=yes", "qmp"],
    ["windowMs=-1", "windowMs"],
    ["windowMs=600001", "windowMs"],
    ["windowMs=soon", "windowMs"],
    ["window=2", "(query)"],
  ]) {
    const r = await app.request(`/api/v1/domains/vm/audit?${qs}`, { headers: auth });
    assert.equal(r.status, 400, qs);
    const e = await error(r);
    assert.equal(e.code, "BAD_REQUEST");
    assert.ok(e.message.startsWith(`${field}`), `${qs}: ${e.message}`);
  }
  assert.deepEqual(calls, []);
  const gone = await app.request("/api/v1/domains/gone/audit", { headers: auth });
  assert.equal(gone.status, 404);
  assert.equal((await error(gone)).code, "LIBVIRT_NO_DOMAIN");
  const remote = createApp(testAgent().agent, { control: testDeps(channel), diskAudit: null });
  const r = await remote.request("/api/v1/domains/vm/audit", { headers: auth });
  assert.equal(r.status, 503);
  assert.equal((await error(r)).code, "AUDIT_UNAVAILABLE");
});

test("every call is audited as disk-audit with what was asked (qmp taints the domain)", async () => {
  const audit = new AuditLog({ path: join(dir, "audit.log"), logger: new Logger(() => undefined) });
  const app = createApp(testAgent().agent, {
    control: testDeps(channel, { audit }),
    diskAudit: scripted([]),
  });
  await app.request("/api/v1/domains/vm/audit?qmp=true", { headers: auth });
  await app.request("/api/v1/domains/vm/audit");
  await audit.close();
  const records = (await readFile(join(dir, "audit.log"), "utf8"))
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as AuditRecord);
  assert.deepEqual(
    records.map((r) => [r.action, r.guest, r.outcome, r.status, r.what]),
    [
      ["disk-audit", "vm", "ok", 200, { qmp: true, windowMs: 2000 }],
      ["disk-audit", "vm", "denied", 401, {}],
    ],
  );
});
