/**
 * `kvmon quickstart` before it starts anything: bad flags are usage errors, and a taken port stops it with the
 * address, what to do, and nothing written to the data dir. (Starting the server and agent for real:
 * test/integration/quickstart.test.ts.)
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { run } from "../main.ts";
import { captureIo } from "../testing.ts";

const dir = mkdtempSync(join(tmpdir(), "kvmon-quickstart-cli-"));
after(() => rmSync(dir, { recursive: true, force: true }));

async function kvmon(...args: string[]) {
  const io = captureIo();
  const code = await run(["quickstart", "--data-dir", dir, ...args], io);
  return { code, ...io };
}

test("bad flags are usage errors naming the flag", async () => {
  const listen = await kvmon("--listen", "nope");
  assert.equal(listen.code, 2);
  assert.match(listen.stderr, /--listen: .*'nope' is not host:port/);
  const zero = await kvmon("--agent-listen", "127.0.0.1:0");
  assert.match(zero.stderr, /--agent-listen needs a fixed port, not 0/);
  const interval = await kvmon("--interval", "0");
  assert.match(interval.stderr, /--interval must be a whole number from 1 to 3600/);
});

/** A port nothing listens on (the OS's pick, released). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

test("a taken port names the address and the way out, before anything is written", async () => {
  const taken: Server = createServer();
  await new Promise<void>((r) => taken.listen(0, "127.0.0.1", r));
  const port = (taken.address() as { port: number }).port;
  try {
    const free = `127.0.0.1:${await freePort()}`;
    const server = await kvmon("--listen", `127.0.0.1:${port}`, "--agent-listen", free);
    assert.equal(server.code, 1);
    assert.match(
      server.stderr,
      new RegExp(`\\[QUICKSTART_PORT\\] cannot start the server on 127.0.0.1:${port}: EADDRINUSE`),
    );
    assert.match(server.stderr, /a quick start still running\?.*choose another port with --listen/);
    const agent = await kvmon("--listen", free, "--agent-listen", `127.0.0.1:${port}`);
    assert.match(
      agent.stderr,
      new RegExp(`\\[QUICKSTART_PORT\\] cannot start the agent on 127.0.0.1:${port}`),
    );
    assert.match(agent.stderr, /choose another port with --agent-listen/);
    assert.equal(existsSync(join(dir, "quickstart")), false);
  } finally {
    await new Promise((r) => taken.close(r));
  }
});

test("a data dir it cannot write says so, with the way out", async () => {
  const file = join(dir, "a-file");
  writeFileSync(file, "");
  const io = captureIo();
  const [listen, agentListen] = [await freePort(), await freePort()];
  const code = await run(
    [
      "quickstart",
      "--data-dir",
      file,
      "--listen",
      `127.0.0.1:${listen}`,
      "--agent-listen",
      `127.0.0.1:${agentListen}`,
    ],
    io,
  );
  assert.equal(code, 1);
  assert.match(io.stderr, new RegExp(`\\[QUICKSTART_DATA_DIR\\] cannot set up the data dir ${file}: `));
  assert.match(io.stderr, /hint: run it as root .* or choose another with --data-dir/);
});
