/**
 * `kvmon console` in a real pseudo-terminal (a tmux pane running sh) on a lab guest's serial console (a shell
 * on ttyS0): the guest's prompt and a typed command's output appear, the pane's terminal is raw while attached,
 * Ctrl-] returns to the shell with `stty -a` as before; a second client is told who holds the console, and
 * --force takes it over, which ends the first session with its terminal restored too. Each session is audited.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, test } from "node:test";
import type { AuditRecord } from "../../src/agent/control/audit.ts";
import { KVMON, kvmon, tmux, tmuxSession, untilScreen } from "../cli-run.ts";
import { labGuests } from "../lab.ts";

const vm = labGuests[0]!;
const session = `kvmon-test-${process.pid}-console`;
let dir: string;
let audit: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "kvmon-cli-console-"));
  audit = join(dir, "audit.log");
  await tmuxSession(session, process.cwd());
});

after(async () => {
  await tmux("kill-session", "-t", session).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

const keys = (...k: string[]) => tmux("send-keys", "-t", session, ...k);
/** The pane's terminal settings, read from outside (stty on its tty). */
const paneStty = async () => {
  const tty = (await tmux("display-message", "-p", "-t", session, "#{pane_tty}")).trim();
  return (await promisify(execFile)("stty", ["-a", "-F", tty])).stdout;
};
const attach = (extra = "") =>
  keys(
    `KVMON_FROM_SOURCE=1 ${KVMON} console ${vm} --audit-log ${audit} ${extra}; echo CONSOLE-EXIT=$?`,
    "Enter",
  );

test("the guest's prompt and a command's output; raw while attached; Ctrl-] restores the terminal", async () => {
  await keys(`clear; stty -a > ${dir}/before`, "Enter");
  const before = await paneStty();
  assert.match(before, /\bicanon\b/);
  await attach();
  await untilScreen(
    session,
    new RegExp(`Connected to ${vm} \\(serial console\\)\\. Escape character is \\^\\]`),
  );
  assert.match(await paneStty(), /-icanon\b/, "raw while attached");
  await keys("Enter");
  await untilScreen(session, /[#$] $/m);
  // The guest's shell must evaluate the arithmetic: our echoed keystrokes alone cannot show the result.
  await keys("echo kvmon-$((6*7))", "Enter");
  const screen = await untilScreen(session, /^kvmon-42\s*$/m);
  process.stderr.write(`console screen:\n${screen.trimEnd()}\n`);
  await keys("C-]");
  await untilScreen(session, /CONSOLE-EXIT=0/);
  await keys(`stty -a > ${dir}/after; echo STTY-SAVED`, "Enter");
  await untilScreen(session, /^STTY-SAVED/m);
  assert.equal(await readFile(join(dir, "after"), "utf8"), await readFile(join(dir, "before"), "utf8"));
  assert.equal(await paneStty(), before);
  const last = (await records()).at(-1)!;
  assert.deepEqual([last.action, last.guest, last.outcome, last.who], ["console", vm, "ok", "unix:root"]);
});

test("a held console: the second client is told, --force takes it over and the first ends restored", async () => {
  await keys("clear", "Enter");
  const before = await paneStty();
  await attach();
  await untilScreen(session, /Escape character is/);
  const busy = await kvmon(["console", vm, "--audit-log", audit]);
  assert.equal(busy.code, 1, busy.stderr);
  assert.match(busy.stderr, new RegExp(`the console of '${vm}' is held by another client`));
  assert.match(busy.stderr, /hint: .*--force/);
  // stdin is /dev/null here: the forced session takes the console and ends at once.
  const forced = await kvmon(["console", vm, "--force", "--audit-log", audit]);
  assert.equal(forced.code, 0, forced.stderr);
  await untilScreen(session, new RegExp(`console of '${vm}' ended[^]*CONSOLE-EXIT=1`));
  assert.equal(await paneStty(), before, "restored after the stream ended under it");
  const mine = (await records()).slice(-3).map((r) => [r.action, r.outcome, r.what.force]);
  assert.deepEqual(mine, [
    ["console", "ok", false],
    ["console", "error", false],
    ["console", "ok", true],
  ]);
});

test("an unknown VM names the near ones", async () => {
  const r = await kvmon(["console", `${vm}x`, "--audit-log", audit]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`\\[LIBVIRT_NO_DOMAIN\\] no VM named '${vm}x'; did you mean '${vm}'`));
});

async function records(): Promise<AuditRecord[]> {
  return (await readFile(audit, "utf8"))
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as AuditRecord);
}
