/**
 * The bundled build (.build/kvmon.mjs): scripts/setup.sh makes it when a source is newer, bin/kvmon runs it
 * when it is current (KVMON_FROM_SOURCE=1 forces the sources), and from it the agent serves every lab guest
 * and the CLI answers --help and `lab status`.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { readFileSync, statSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { labGuests } from "../lab.ts";

const root = join(import.meta.dirname, "../..");
const bundle = join(root, ".build/kvmon.mjs");
const run = promisify(execFile);
/** The environment without KVMON_FROM_SOURCE (scripts/test.sh sets it so the other tests run the sources). */
const env = (fromSource: boolean): NodeJS.ProcessEnv => {
  const e = { ...process.env };
  delete e.KVMON_FROM_SOURCE;
  return fromSource ? { ...e, KVMON_FROM_SOURCE: "1" } : e;
};

/** `bin/kvmon agent` on a free loopback port: the child and its address once it logs it (30 s at most). */
async function agent(fromSource: boolean): Promise<{ child: ChildProcess; base: string }> {
  const child = spawn(join(root, "bin/kvmon"), ["agent", "--listen", "127.0.0.1:0", "--interval", "1"], {
    stdio: ["ignore", "ignore", "pipe"],
    env: env(fromSource),
  });
  const log: string[] = [];
  let address: string | undefined;
  createInterface({ input: child.stderr! }).on("line", (l) => {
    if (log.length < 200) log.push(l);
    address ??= /"msg":"agent listening".*"address":"([^"]+)"/.exec(l)?.[1];
  });
  for (let i = 0; i < 300 && address === undefined && child.exitCode === null; i++) await sleep(100);
  if (address === undefined) {
    child.kill("SIGKILL");
    assert.fail(`agent did not start: ${log.join("\n")}`);
  }
  return { child, base: `http://${address}` };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await Promise.race([exited, sleep(10_000)]);
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
}

const argv = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");

test("scripts/setup.sh rebuilds a stale bundle", async () => {
  await run("bash", [join(root, "scripts/setup.sh")], { cwd: root });
  const old = new Date("2000-01-01T00:00:00Z");
  utimesSync(bundle, old, old); // older than every source: stale
  const { stdout } = await run("bash", [join(root, "scripts/setup.sh")], { cwd: root });
  assert.match(stdout, /bundling the CLI and agent/);
  assert.ok(statSync(bundle).mtimeMs > old.getTime() + 1000, "bundle not rebuilt");
  const again = await run("bash", [join(root, "scripts/setup.sh")], { cwd: root });
  assert.doesNotMatch(again.stdout, /bundling/, "a current bundle was rebuilt");
});

test("bin/kvmon agent runs the bundle and serves every lab guest", async () => {
  const { child, base } = await agent(false);
  try {
    const args = argv(child.pid!);
    assert.ok(args.includes(bundle), args.join(" "));
    assert.ok(args.includes("--no-memory-reducer"), args.join(" "));
    let text = "";
    for (
      let i = 0;
      i < 100 && !labGuests.every((g) => text.includes(`kvmon_domain_state_code{domain="${g}"`));
      i++
    ) {
      const res = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(5000) });
      assert.equal(res.status, 200);
      text = await res.text();
      await sleep(100);
    }
    for (const g of labGuests)
      assert.match(text, new RegExp(`^kvmon_domain_state_code\\{domain="${g}"[^}]*\\} 1$`, "m"), g);
  } finally {
    await stop(child);
  }
});

test("KVMON_FROM_SOURCE=1 runs the TypeScript sources", async () => {
  const { child } = await agent(true);
  try {
    const args = argv(child.pid!);
    assert.ok(args.includes(join(root, "src/cli/main.ts")), args.join(" "));
    assert.ok(!args.includes(bundle), args.join(" "));
  } finally {
    await stop(child);
  }
});

test("the bundle answers --help and lab status", async () => {
  const node = process.execPath;
  const help = await run(node, [bundle, "--help"], { env: env(false) });
  assert.match(help.stdout, /^Usage: kvmon <command>/m);
  assert.match(help.stdout, /^ {2}agent /m);
  assert.match(help.stdout, /^ {2}lab /m);
  const status = await run(node, [bundle, "lab", "status"], { env: env(false), timeout: 60_000 });
  for (const g of labGuests) assert.match(status.stdout, new RegExp(`^${g}\\s+running\\s`, "m"), g);
});
