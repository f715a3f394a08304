/**
 * An agent's HTTP app with the control API and a console, served on loopback (HTTP, or HTTPS with a given
 * certificate pair) without libvirt: the server tests route control calls and console WebSockets to it. Its
 * console answers each chunk in upper case (libvirt's console stream is tested with the lab elsewhere).
 */
import type { Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { createAdaptorServer } from "@hono/node-server";
import { createNodeWebSocket } from "@hono/node-ws";
import { Hono } from "hono";
import { AuditLog } from "../src/agent/control/audit.ts";
import type { ConsoleStream } from "../src/agent/control/console.ts";
import { controlToken } from "../src/agent/control/token.ts";
import { createApp } from "../src/agent/http.ts";
import { Logger } from "../src/agent/log.ts";
import { testAgent } from "../src/agent/testing/setup.ts";
import { AsyncQueue } from "../src/shared/async-queue.ts";

/** A console that echoes each chunk in upper case, and closes after a chunk with `closeOn` in it. */
export function upperConsole(closeOn?: string): ConsoleStream {
  const out = new AsyncQueue<Uint8Array>(64);
  return {
    output: out,
    write: (bytes) => {
      const text = Buffer.from(bytes).toString();
      out.push(Buffer.from(text.toUpperCase()));
      if (closeOn !== undefined && text.includes(closeOn)) out.close();
      return Promise.resolve();
    },
    close: () => {
      out.close();
      return Promise.resolve();
    },
  };
}

/** An agent's audit log at `path`, opened. */
export async function openAgentAudit(path: string): Promise<AuditLog> {
  const audit = new AuditLog({ path, logger: new Logger(() => undefined) });
  await audit.open();
  return audit;
}

export interface ConsoleAgent {
  url: string;
  close(): Promise<void>;
}

/**
 * The agent's app (control token, no guest exec, no tracer) with `openConsole` as its console, listening on a
 * free loopback port; over HTTPS when `tls` (PEM certificate and key) is given.
 */
export async function startConsoleAgent(opts: {
  controlToken: string;
  audit: AuditLog;
  openConsole: (name: string) => Promise<ConsoleStream>;
  tls?: { cert: Buffer; key: Buffer };
}): Promise<ConsoleAgent> {
  const holder: { app: Hono } = { app: new Hono() };
  const nodeWs = createNodeWebSocket(holder);
  holder.app = createApp(testAgent().agent, {
    control: {
      token: controlToken(opts.controlToken),
      audit: opts.audit,
      logger: new Logger(() => undefined),
      channels: null,
      guestExec: false,
      guestPassthrough: false,
      killOnTimeout: false,
      callTimeoutMs: 1000,
    },
    console: { open: opts.openConsole, upgradeWebSocket: nodeWs.upgradeWebSocket },
  });
  const server = (
    opts.tls
      ? createAdaptorServer({
          fetch: holder.app.fetch,
          createServer: createHttpsServer,
          serverOptions: opts.tls,
        })
      : createAdaptorServer({ fetch: holder.app.fetch })
  ) as Server;
  nodeWs.injectWebSocket(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${opts.tls ? "https" : "http"}://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
