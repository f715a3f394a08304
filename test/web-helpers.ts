/**
 * For the dashboard's browser tests: the dashboard built into a temp dir, a real server (startServer, the
 * in-memory sample store) serving it with one token per role and the hosts' push tokens, and headless Chromium
 * (Debian's /usr/bin/chromium driven by playwright-core; no downloaded browser).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { buildWeb } from "../scripts/build-web.ts";
import { withTimeout } from "../src/shared/errors.ts";
import { TokenStore } from "../src/server/auth/tokens.ts";
import { loadServerConfig } from "../src/server/config.ts";
import { FleetState } from "../src/server/fleet/state.ts";
import { type RunningServer, startServer } from "../src/server/run.ts";
import { openStateDb } from "../src/server/state-db.ts";
import { MemoryStore } from "../src/server/storage/testing/memory-store.ts";
import type { AgentEndpoint } from "../src/server/fleet/state.ts";

export const CHROMIUM = "/usr/bin/chromium";
export const ARTIFACTS = join(import.meta.dirname, "..", "test-artifacts");

export interface WebServer {
  dir: string;
  server: RunningServer;
  store: MemoryStore;
  tokens: { viewer: string; operator: string; admin: string };
  hostTokens: Record<string, string>;
  /** An API call as a user or a host. */
  api<T>(method: string, path: string, token: string, body?: unknown): Promise<{ status: number; body: T }>;
  stop(): Promise<void>;
}

export async function startWebServer(
  hosts: ReadonlyArray<{ name: string; agent?: AgentEndpoint }>,
): Promise<WebServer> {
  const dir = await mkdtemp(join(tmpdir(), "kvmon-web-"));
  const webDir = join(dir, "web");
  await buildWeb(webDir);
  const db = openStateDb(join(dir, "server"));
  const tokenStore = new TokenStore(db);
  const tokens = {
    viewer: tokenStore.create("user", "vera", "viewer").token,
    operator: tokenStore.create("user", "otto", "operator").token,
    admin: tokenStore.create("user", "ada", "admin").token,
  };
  const hostTokens: Record<string, string> = {};
  const fleet = new FleetState(db);
  for (const h of hosts) {
    hostTokens[h.name] = tokenStore.create("host", h.name, null).token;
    fleet.register(h.name, h.agent ?? null);
  }
  db.close();
  const store = new MemoryStore();
  const config = loadServerConfig({
    flags: { listen: "127.0.0.1:0", "data-dir": join(dir, "server"), "agent-timeout": "60" },
  });
  const server = await startServer(config, { storeFactory: () => Promise.resolve(store), webDir });
  return {
    dir,
    server,
    store,
    tokens,
    hostTokens,
    async api<T>(method: string, path: string, token: string, body?: unknown) {
      const res = await fetch(`${server.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(60_000),
      });
      const text = await res.text();
      return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
    },
    async stop() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Awaits one teardown step (closing the browser, stopping a server) for at most 60 s, and reports a failure
 * instead of throwing it, so one hung step cannot keep the others from running. */
export async function bounded(what: string, step: Promise<unknown> | undefined): Promise<void> {
  await withTimeout(step ?? Promise.resolve(), 60_000, what).catch((e: unknown) =>
    process.stderr.write(`${String(e)}\n`),
  );
}

export function launchChromium(): Promise<Browser> {
  // --no-sandbox: the tests run as root, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"], timeout: 60_000 });
}

/** Logs in through the form, as a person would. */
export async function logIn(page: Page, url: string, token: string): Promise<void> {
  await page.goto(url);
  await page.fill("#token", token);
  await page.click("button[type=submit]");
  await page.waitForSelector(".top .who");
}
