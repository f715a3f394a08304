/**
 * The CLI fleet-wide (`--server URL`): a real server started in-process (memory store, temp data dir) with the
 * lab's agent registered as host `lab-host`, and the real `kvmon` binary as a child process (in tmux for the
 * full screens). exec propagates the guest's exit code and streams; a unique VM name is found across the fleet
 * and a wrong one names the near ones as host/vm; top's JSON is the server's domains, its screen the lab VMs
 * with their host; console runs a command in the guest and gives the terminal back; audit equals the direct
 * audit of the same domain; trace on the KVM guest prints a histogram and leaves no tracefs instance; a viewer
 * token is refused with the role it needs; a server that does not answer is said so.
 */
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { RunningAgent } from "../../src/agent/server.ts";
import { findTracefs } from "../../src/protocol/tracefs/index.ts";
import { TokenStore } from "../../src/server/auth/tokens.ts";
import { loadServerConfig } from "../../src/server/config.ts";
import { FleetState } from "../../src/server/fleet/state.ts";
import { type RunningServer, startServer } from "../../src/server/run.ts";
import { openStateDb } from "../../src/server/state-db.ts";
import { MemoryStore } from "../../src/server/storage/testing/memory-store.ts";
import { withTimeout } from "../../src/shared/errors.ts";
import { startControlAgent } from "../agent-helpers.ts";
import { vmRow } from "../../src/cli/top/rows.ts";
import type { FleetDomain } from "../../src/api/types.ts";
import type { DomainAudit } from "../../src/audit/types.ts";
import { kvmon } from "../cli-run.ts";
import { TmuxPane } from "../tmux.ts";
import { kvmSkipReason, labGuests, withKvmGuest } from "../lab.ts";
import { untilBootLoop } from "../tracer-helpers.ts";

const CONTROL_TOKEN = "kvmon-cli-server-it-control-token-0123456789";
const HOST = "lab-host";
const vm = labGuests[0]!;
let dir: string;
let agent: { running: RunningAgent; base: string };
let server: RunningServer;
const panes: TmuxPane[] = [];
const tokens = { operator: "", viewer: "", host: "" };

/** Env for kvmon through the server with a token of `role`. */
const via = (role: "operator" | "viewer") => ({ KVMON_SERVER_URL: server.url, KVMON_TOKEN: tokens[role] });

/** Pushes the agent's current snapshot, as its push sender does, so the server knows the host's domains. */
async function pushSnapshot(): Promise<void> {
  const res = await fetch(`${server.url}/api/v1/push/snapshot`, {
    method: "POST",
    headers: { authorization: `Bearer ${tokens.host}`, "content-type": "application/json" },
    body: JSON.stringify(agent.running.agent.snapshot()),
  });
  assert.equal(res.status, 204, await res.text());
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "kvmon-cli-server-it-"));
  agent = await startControlAgent(dir, CONTROL_TOKEN);
  const db = openStateDb(join(dir, "server"));
  const store = new TokenStore(db);
  store.create("user", "ada", "admin"); // the server refuses to start without one
  tokens.operator = store.create("user", "otto", "operator").token;
  tokens.viewer = store.create("user", "vera", "viewer").token;
  tokens.host = store.create("host", HOST, null).token;
  new FleetState(db).register(HOST, { url: agent.base, controlToken: CONTROL_TOKEN });
  db.close();
  server = await startServer(
    loadServerConfig({
      flags: { listen: "127.0.0.1:0", "data-dir": join(dir, "server"), "agent-timeout": "60" },
    }),
    { storeFactory: () => Promise.resolve(new MemoryStore()) },
  );
  for (let i = 0; i < 50 && !agent.running.agent.snapshot(); i++) await sleep(200);
  await pushSnapshot();
});

after(async () => {
  const bounded = (what: string, p: Promise<unknown> | undefined) =>
    withTimeout(p ?? Promise.resolve(), 60_000, what).catch((e: unknown) =>
      process.stderr.write(`${String(e)}\n`),
    );
  for (const p of panes) await p.kill();
  await bounded("server stop", server?.stop());
  await bounded("agent stop", agent?.running.stop());
  await rm(dir, { recursive: true, force: true });
});

describe("exec --server", () => {
  test("the guest's exit code, stdout and stderr as they are; the VM found by its unique name", async () => {
    const r = await kvmon(["exec", vm, "--", "sh", "-c", "echo out; echo err >&2; exit 7"], via("operator"));
    assert.deepEqual([r.code, r.stdout, r.stderr], [7, "out\n", "err\n"]);
    const named = await kvmon(["exec", `${HOST}/${vm}`, "--", "true"], via("operator"));
    assert.equal(named.code, 0, named.stderr);
  });

  test("a wrong VM name lists the near ones across the fleet as host/vm", async () => {
    const r = await kvmon(["exec", vm.slice(0, -1), "--", "true"], via("operator"));
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(`no VM named '${vm.slice(0, -1)}' in the fleet; did you mean .*${HOST}/${vm}`),
    );
  });

  test("a viewer token is refused, saying the operator role is needed", async () => {
    const r = await kvmon(["exec", vm, "--", "true"], via("viewer"));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /\[FORBIDDEN\] needs the operator role; 'vera' is viewer/);
  });

  test("no token, a wrong token, no server: each says what to do", async () => {
    const none = await kvmon(["exec", vm, "--", "true"], { KVMON_SERVER_URL: server.url });
    assert.match(none.stderr, /\[API_TOKEN\].*needs an API token[^]*--token-file/);
    const wrong = await kvmon(["exec", vm, "--", "true"], {
      KVMON_SERVER_URL: server.url,
      KVMON_TOKEN: "nope",
    });
    assert.match(wrong.stderr, /\[UNAUTHENTICATED\] the bearer token is unknown or revoked/);
    const down = await kvmon(["exec", vm, "--", "true"], {
      KVMON_SERVER_URL: "http://127.0.0.1:9",
      KVMON_TOKEN: "t",
    });
    assert.match(
      down.stderr,
      /\[SERVER_UNREACHABLE\] cannot reach the kvmon server at http:\/\/127\.0\.0\.1:9/,
    );
  });
});

/** `kvmon ARGS` in a tmux pane, through the server with an operator token. */
async function pane(args: string): Promise<TmuxPane> {
  const p = await TmuxPane.start(await mkdtemp(join(dir, "pane-")), args, { env: via("operator") });
  panes.push(p);
  return p;
}

describe("top --server", () => {
  test("--once --json: the server's /api/v1/domains of the same push, each VM with its host", async () => {
    await pushSnapshot();
    const r = await kvmon(["top", "--once", "--json", "-o", "name"], via("viewer"));
    assert.equal(r.code, 0, r.stderr);
    const top = JSON.parse(r.stdout) as {
      source: string;
      host: null;
      hosts: Array<{ name: string }>;
      vms: Array<{ host: string; name: string }>;
    };
    const res = await fetch(`${server.url}/api/v1/domains?limit=1000`, {
      headers: { authorization: `Bearer ${tokens.viewer}` },
    });
    const { domains } = (await res.json()) as { domains: FleetDomain[] };
    const byVm = (a: { host: string; name: string }, b: { host: string; name: string }) =>
      `${a.host}/${a.name}`.localeCompare(`${b.host}/${b.name}`);
    assert.deepEqual([...top.vms].sort(byVm), domains.map((d) => ({ host: d.host, ...vmRow(d) })).sort(byVm));
    assert.deepEqual([top.source, top.host, top.hosts.map((h) => h.name)], ["server", null, [HOST]]);
    for (const g of labGuests)
      assert.ok(
        top.vms.some((v) => v.host === HOST && v.name === g),
        g,
      );
  });

  test("the full screen lists the lab VMs with their host; q gives the terminal back", async () => {
    const p = await pane("top -d 1 -o name");
    const screen = await p.waitFor(
      (s) => labGuests.every((g) => new RegExp(`^${HOST} +${g} `, "m").test(s)),
      30_000,
    );
    assert.match(screen, new RegExp(`source: server ${server.url.replace(/[.]/g, "\\.")}`));
    assert.match(screen, /^fleet: 1 hosts +VMs: /m);
    assert.match(screen, /^HOST +NAME +STATE/m);
    await p.send("q");
    await p.waitFor(/KVMON-EXIT=0/);
    const { before, after } = await p.stty();
    assert.equal(after, before);
  });
});

describe("console --server", () => {
  test("a command typed in the guest's console runs there; Ctrl-] leaves with the terminal as it was", async () => {
    const p = await pane(`console ${HOST}/${vm}`);
    await p.waitFor(new RegExp(`Connected to ${HOST}/${vm} \\(serial console\\)\\. Escape character is`));
    await p.send("Enter");
    await p.waitFor(/[#$] ?$/m); // tmux drops the prompt's trailing space
    // The guest's shell must evaluate the arithmetic: our echoed keystrokes alone cannot show the result.
    await p.line("echo kvmon-$((6*7))");
    const screen = await p.waitFor(/^kvmon-42\s*$/m);
    process.stderr.write(`console --server screen:\n${screen.trimEnd()}\n`);
    await p.send("C-]");
    await p.waitFor(/KVMON-EXIT=0/);
    const { before, after } = await p.stty();
    assert.equal(after, before);
  });

  test("a viewer is refused with the server's FORBIDDEN", async () => {
    const r = await kvmon(["console", `${HOST}/${vm}`], via("viewer"));
    assert.equal(r.code, 1);
    // A refused upgrade carries only its status (the server's WebSocket layer sends no body).
    assert.match(
      r.stderr,
      /\[FORBIDDEN\] GET \/api\/v1\/domains\/lab-host\/[^:]+\/console: .* refused it with 403 Forbidden/,
    );
    assert.match(r.stderr, /hint: .*need an operator/);
  });
});

describe("audit --server", () => {
  test("each lab disk's audit through the server equals the direct audit of the same domain", async () => {
    type Report = { domains: Array<DomainAudit & { host?: string }> };
    const fleet = await kvmon(["audit", "--json", "--window", "0", `${HOST}/`], via("operator"));
    assert.equal(fleet.code, 0, fleet.stderr);
    const direct = await kvmon(["audit", "--json", "--window", "0"]);
    assert.equal(direct.code, 0, direct.stderr);
    const through = (JSON.parse(fleet.stdout) as Report).domains;
    const here = (JSON.parse(direct.stdout) as Report).domains;
    for (const g of labGuests) {
      const { host, ...audit } = through.find((d) => d.name === g)!;
      assert.equal(host, HOST);
      assert.ok(audit.disks.length > 0, `${g} has disks`);
      assert.ok(
        audit.disks.some((d) => d.openImages.length > 0),
        `${g}: open flags read by the agent`,
      );
      assert.deepEqual(
        audit,
        here.find((d) => d.name === g),
      );
    }
  });

  test("one domain by its unique name; a viewer is refused", async () => {
    const r = await kvmon(["audit", "--json", "--window", "0", vm], via("operator"));
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      (JSON.parse(r.stdout) as { domains: Array<{ host: string; name: string }> }).domains.map((d) => [
        d.host,
        d.name,
      ]),
      [[HOST, vm]],
    );
    const viewer = await kvmon(["audit", "--window", "0", vm], via("viewer"));
    assert.equal(viewer.code, 1);
    assert.match(viewer.stderr, /\[FORBIDDEN\] needs the operator role/);
  });
});

test(
  "trace --server on the KVM guest: a histogram, no instance left; a viewer is refused",
  {
    skip: await kvmSkipReason(),
  },
  async () => {
    const instancesDir = join(await findTracefs(), "instances");
    // The agent runs in this process: its tracer instances carry our pid.
    const ours = async () =>
      (await readdir(instancesDir)).filter((n) => n.startsWith(`kvmon-${process.pid}-`));
    await withKvmGuest(async (kvmVm) => {
      await untilBootLoop(kvmVm);
      const viewer = await kvmon(["trace", `${HOST}/${kvmVm}`, "--duration", "2s"], via("viewer"));
      assert.equal(viewer.code, 1);
      assert.match(viewer.stderr, /\[FORBIDDEN\] needs the operator role/);
      // The agent and the server share this process's event loop with the tracer's polls: how long a request
      // waits for the loop while tracing decides whether the CLI's status calls (5 s deadline) get through.
      const delay = monitorEventLoopDelay({ resolution: 10 });
      delay.enable();
      const r = await kvmon(["trace", `${HOST}/${kvmVm}`, "--duration", "3s"], via("operator"));
      delay.disable();
      const ms = (ns: number) => Math.round(ns / 1e6);
      process.stderr.write(
        `event loop delay while tracing: p50 ${ms(delay.percentile(50))} ms, p99 ${ms(delay.percentile(99))} ms, max ${ms(delay.max)} ms\n`,
      );
      assert.equal(r.code, 0, r.stderr);
      assert.ok(ms(delay.max) < 1000, `the event loop stalled ${ms(delay.max)} ms while tracing`);
      process.stderr.write(`${r.stdout}\n`);
      assert.match(
        r.stdout,
        new RegExp(`^\\ds ${kvmVm} [\\d,]+ events/s total [\\d,]+: vcpu0 kvm_\\w+/\\S+ [\\d,]+/s`, "m"),
      );
      assert.match(r.stdout, new RegExp(`^${kvmVm}: [\\d,]+ events in \\d+\\.\\d s`, "m"));
      assert.deepEqual(await ours(), [], "the tracer is off and its instance removed");
    });
  },
);
