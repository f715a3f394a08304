/**
 * The quick start's server + agent part (`kvmon quickstart`, what scripts/quickstart.sh runs after the set-up and
 * the lab) on the lab, in a temp data root with ports of its own: from what it prints, the dashboard answers,
 * the printed token logs in as admin, and the server lists the lab's VMs as the agent pushed them; SIGINT stops
 * it with both children gone and both ports free. A second run on the same data reuses the token (not printed
 * again: stdout is not a terminal) and serves the same way; when its agent is killed, it stops the server and
 * exits 1 naming the agent's log. In a terminal (tmux) it prints the kept token again, and the terminal's Ctrl-C
 * stops it the same way.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { buildWeb } from "../../scripts/build-web.ts";
import { KVMON, startKvmon, tmux, tmuxSession, untilScreen } from "../cli-run.ts";
import { freePort } from "../daemon.ts";
import { labGuests } from "../lab.ts";

let dir: string;
let webDir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "kvmon-quickstart-it-"));
  webDir = join(dir, "web");
  await buildWeb(webDir);
});
after(() => rm(dir, { recursive: true, force: true }));

/** The processes whose parent is `pid` (from /proc): pid and command line. */
async function childrenOf(pid: number): Promise<Array<{ pid: number; args: string[] }>> {
  const out: Array<{ pid: number; args: string[] }> = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    // pid (comm) state ppid ...: comm may hold spaces, so split after its closing parenthesis.
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (ppid !== pid) continue;
    const args = (await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "")).split("\0");
    out.push({ pid: Number(entry), args });
  }
  return out;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function portFree(port: number): Promise<boolean> {
  const s = createServer();
  const ok = await new Promise<boolean>((resolve) => {
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => resolve(true));
  });
  if (ok) await new Promise((r) => s.close(r));
  return ok;
}

const ports = async () => ({ server: await freePort(), agent: await freePort() });
const quickstartArgs = (p: { server: number; agent: number }) => [
  "quickstart",
  "--data-dir",
  join(dir, "root"),
  "--listen",
  `127.0.0.1:${p.server}`,
  "--agent-listen",
  `127.0.0.1:${p.agent}`,
  "--interval",
  "2",
];

/**
 * From the quick start's summary `out`: the URLs are this run's; the dashboard is 200, the token in its file
 * opens an admin session, the server lists every lab VM of this host. Returns what was printed as the login
 * token, and the token.
 */
async function assertServing(out: string, p: { server: number; agent: number }) {
  const url = /^ {2}dashboard +(http:\/\/\S+\/)/m.exec(out)?.[1];
  assert.equal(url, `http://127.0.0.1:${p.server}/`, out);
  assert.match(out, new RegExp(`agent +http://127\\.0\\.0\\.1:${p.agent}/metrics`));
  const printed = /^ {2}login token +(.*?)(?: +\(.*)?$/m.exec(out)?.[1] ?? "";
  const token = (await readFile(join(dir, "root", "quickstart", "admin.token"), "utf8")).trim();
  const get = (path: string) => fetch(new URL(path, url), { headers: { authorization: `Bearer ${token}` } });
  const page = await get("/");
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<html/i);
  const session = await get("/api/v1/session");
  assert.equal(session.status, 200);
  assert.deepEqual(await session.json(), { name: "quickstart-admin", role: "admin" });
  const domains = (await (await get(`/api/v1/domains?host=${hostname()}`)).json()) as {
    domains: Array<{ name: string; host: string }>;
  };
  for (const vm of labGuests)
    assert.ok(
      domains.domains.some((d) => d.name === vm),
      `${vm} in ${JSON.stringify(domains.domains.map((d) => d.name))}`,
    );
  return { printed, token };
}

/** The quick start's children are exactly a server and an agent; returns them. */
async function serverAndAgent(pid: number) {
  const kids = await childrenOf(pid);
  assert.deepEqual(
    kids.map((k) => k.args.find((a) => a === "server" || a === "agent")).sort(),
    ["agent", "server"],
    JSON.stringify(kids),
  );
  return kids;
}

/** After the quick start ended: no child left, both ports free. */
async function assertGone(kids: Array<{ pid: number }>, p: { server: number; agent: number }) {
  assert.deepEqual(
    kids.filter((k) => alive(k.pid)),
    [],
    "no child left running",
  );
  for (let i = 0; i < 20 && !((await portFree(p.server)) && (await portFree(p.agent))); i++) await sleep(100);
  assert.ok(await portFree(p.server), `port ${p.server} is free`);
  assert.ok(await portFree(p.agent), `port ${p.agent} is free`);
}

/**
 * One quick start as a child process (stdout not a terminal) from its start to its end: SIGINT (exit 0), or its
 * agent killed (the server stopped, exit 1).
 */
async function quickstartRun(end: "sigint" | "agent-killed"): Promise<{ printed: string; token: string }> {
  const p = await ports();
  const qs = startKvmon(quickstartArgs(p), { KVMON_WEB_DIR: webDir });
  try {
    await qs.until(/^Ctrl-C stops/m, 60_000);
    const seen = await assertServing(qs.stdout(), p);
    const kids = await serverAndAgent(qs.child.pid!);
    if (end === "sigint") {
      const t0 = Date.now();
      qs.child.kill("SIGINT");
      const { code } = await qs.exit;
      assert.equal(code, 0, qs.stderr());
      assert.ok(Date.now() - t0 < 5000, `stopped in ${Date.now() - t0} ms`);
      assert.match(qs.stderr(), /server and agent stopped/);
    } else {
      process.kill(kids.find((k) => k.args.includes("agent"))!.pid, "SIGKILL");
      const { code } = await qs.exit;
      assert.equal(code, 1, qs.stderr());
      assert.match(
        qs.stderr(),
        /\[QUICKSTART_CHILD_EXIT\] the agent exited \(signal SIGKILL\); the other was stopped\nhint: its log: .*agent\.log/,
      );
    }
    await assertGone(kids, p);
    return seen;
  } finally {
    if (qs.child.exitCode === null) qs.child.kill("SIGKILL");
  }
}

test("the quick start serves the dashboard, logs in with its token, lists the lab VMs, and stops on SIGINT; a second run reuses the token and stops the server when its agent dies", async () => {
  const first = await quickstartRun("sigint");
  assert.equal(first.printed, first.token, "the first run prints the token it made");
  const second = await quickstartRun("agent-killed");
  assert.equal(second.token, first.token, "the second run reuses the token");
  assert.match(second.printed, /^in .*admin\.token/, "and does not print it into a log again");
});

test("in a terminal it prints the kept token again, and Ctrl-C from the terminal stops server and agent", async () => {
  const session = `kvmon-test-${process.pid}-quickstart`;
  const keys = (...k: string[]) => tmux("send-keys", "-t", session, ...k);
  await tmuxSession(session, process.cwd());
  try {
    const p = await ports();
    await keys(
      `KVMON_FROM_SOURCE=1 KVMON_WEB_DIR=${webDir} ${KVMON} ${quickstartArgs(p).join(" ")}; echo QS-EXIT=$?`,
      "Enter",
    );
    const screen = await untilScreen(session, /^Ctrl-C stops/m, 60_000);
    const { printed, token } = await assertServing(screen, p);
    assert.equal(printed, token, "a terminal gets the token every time");
    const shell = Number((await tmux("display-message", "-p", "-t", session, "#{pane_pid}")).trim());
    const [qs] = await childrenOf(shell);
    const kids = await serverAndAgent(qs!.pid);
    await keys("C-c");
    const end = await untilScreen(session, /^QS-EXIT=\d+/m, 10_000);
    assert.match(end, /server and agent stopped\s+QS-EXIT=0/);
    await assertGone(kids, p);
  } finally {
    await tmux("kill-session", "-t", session).catch(() => undefined);
  }
});
