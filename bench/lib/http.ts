/**
 * Talking to the peers under test: one kept-alive HTTP connection (as Prometheus scrapes), a free loopback
 * port, a bounded wait for readiness, and stopping a child process that may be paused.
 */
import type { ChildProcess } from "node:child_process";
import { Agent as HttpAgent, request as httpRequest } from "node:http";
import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

const keepAlive = new HttpAgent({ keepAlive: true, maxSockets: 1 });

/** GET over the shared kept-alive connection: the body of a 200 answer, else an error (10 s deadline). */
export function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent: keepAlive, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        res.statusCode === 200
          ? resolve(Buffer.concat(chunks).toString("utf8"))
          : reject(new Error(`${url}: HTTP ${res.statusCode}`)),
      );
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`${url}: timeout`)));
    req.on("error", reject);
    req.end();
  });
}

/** Closes the kept-alive connections so the process can exit. */
export const closeHttp = (): void => keepAlive.destroy();

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Polls fn every 200 ms until it returns a value (its errors count as "not yet"), at most ms. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (let i = 0; i < 1000 && Date.now() < end; i++) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await sleep(200);
  }
  throw new Error(`${what} not ready in ${ms} ms${last ? `: ${(last as Error).message}` : ""}`, {
    cause: last,
  });
}

/** SIGCONT (a paused child keeps SIGTERM pending), SIGTERM, and SIGKILL after 5 s. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGCONT");
  child.kill("SIGTERM");
  await Promise.race([exited, sleep(5000)]);
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
}

/** Lines in an exposition text that are samples, and how many of them start with domainPrefix. */
export function exposSeries(body: string, domainPrefix: string): [number, number] {
  const lines = body.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
  return [lines.length, lines.filter((l) => l.startsWith(domainPrefix)).length];
}
