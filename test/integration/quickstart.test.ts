/**
 * The quick start's server + agent part (`kvmon quickstart`, what scripts/quickstart.sh runs after the set-up and
 * the lab) on the lab, in a temp data root with ports of its own: from what it prints, the dashboard answers,
 * the printed token logs in as admin, and the server lists the lab's VMs as the agent pushed them; SIGINT stops
 * it with both children gone and both ports free. A second run on the same data reuses the token (not printed
 * again: stdout is not a terminal) and serves the same way; when its agent is killed, it stops the server and
 * exits 1 naming the agent's log.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { buildWeb } from "../../scripts/build-web.ts";
import { startKvmon } from "../cli-run.ts";
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

/**
 * One quick start from its start to its end: Ctrl-C (SIGINT: exit 0), or its agent killed (the server stopped,
 * exit 1); returns what it printed as the login token, and the token.
 */
async function quickstartRun(end: "sigint" | "agent-killed"): Promise<{ printed: string; token: string }> {
  const [serverPort, agentPort] = [await freePort(), await freePort()];
  const qs = startKvmon(
    [
      "quickstart",
      "--data-dir",
      join(dir, "root"),
      "--listen",
      `127.0.0.1:${serverPort}`,
      "--agent-listen",
      `127.0.0.1:${agentPort}`,
      "--interval",
      "2",
    ],
    { KVMON_WEB_DIR: webDir },
  );
  try {
    await qs.until(/^Ctrl-C stops/m, 60_000);
    const out = qs.stdout();
    const url = /^ {2}dashboard +(http:\/\/\S+\/)/m.exec(out)?.[1];
    assert.equal(url, `http://127.0.0.1:${serverPort}/`, out);
    assert.match(out, new RegExp(`agent +http://127\\.0\\.0\\.1:${agentPort}/metrics`));
    const printed = /^ {2}login token +(.*?)(?: +\(.*)?$/m.exec(out)?.[1] ?? "";
    const tokenFile = join(dir, "root", "quickstart", "admin.token");
    const token = (await readFile(tokenFile, "utf8")).trim();
    const get = (path: string) =>
      fetch(new URL(path, url), { headers: { authorization: `Bearer ${token}` } });
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

    const kids = await childrenOf(qs.child.pid!);
    assert.deepEqual(
      kids.map((k) => k.args.find((a) => a === "server" || a === "agent")).sort(),
      ["agent", "server"],
      JSON.stringify(kids),
    );
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
    assert.deepEqual(
      kids.filter((k) => alive(k.pid)),
      [],
      "no child left running",
    );
    for (let i = 0; i < 20 && !((await portFree(serverPort)) && (await portFree(agentPort))); i++)
      await sleep(100);
    assert.ok(await portFree(serverPort), `port ${serverPort} is free`);
    assert.ok(await portFree(agentPort), `port ${agentPort} is free`);
    return { printed, token };
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
