/**
 * GET /api/v1/domains/{name}/console: a domain's serial console as a WebSocket (binary frames both ways),
 * for the fleet server's console route and the CLI. A control call like exec: audited, the control token; the
 * console is opened before the upgrade, so a missing domain is an HTTP error, not a closed socket.
 *
 * The stream itself comes from libvirt's DOMAIN_OPEN_CONSOLE (procedure 201) on the control connection
 * (guest-channel.ts); an agent without that connection (no guest endpoint on) answers 503 CONSOLE_UNAVAILABLE.
 */
import { type Context, Hono, type MiddlewareHandler } from "hono";
import type { UpgradeWebSocket, WSContext } from "hono/ws";
import { HttpError } from "../errors.ts";
import { type ControlDeps, controlGuards, type Env } from "./routes.ts";

/** A domain's console as a byte stream. */
export interface ConsoleStream {
  /** Bytes from the console until it closes. */
  readonly output: AsyncIterable<Uint8Array>;
  write(bytes: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

/** Opens the console of a domain by name or UUID (a typed error when there is none). */
export type OpenConsole = (domain: string) => Promise<ConsoleStream>;

export interface ConsoleDeps {
  open: OpenConsole | null;
  upgradeWebSocket: UpgradeWebSocket;
}

/** Pumps the console's output into the socket and the socket's messages into the console; each end closes the other. */
export function bridgeConsole(stream: ConsoleStream) {
  return {
    onOpen: (_e: Event, ws: WSContext) => {
      void (async () => {
        try {
          for await (const chunk of stream.output) ws.send(chunk as Uint8Array<ArrayBuffer>);
          ws.close(1000, "console closed");
        } catch (e) {
          ws.close(1011, String((e as Error).message).slice(0, 120));
        }
      })();
    },
    onMessage: (e: MessageEvent, ws: WSContext) => {
      const bytes = typeof e.data === "string" ? Buffer.from(e.data) : new Uint8Array(e.data as ArrayBuffer);
      stream
        .write(bytes)
        .catch((err: unknown) => ws.close(1011, String((err as Error).message).slice(0, 120)));
    },
    onClose: () => {
      void stream.close();
    },
  };
}

type ConsoleEnv = { Variables: Env["Variables"] & { console: ConsoleStream } };

export function consoleRoutes(
  consoles: ConsoleDeps,
  deps: Pick<ControlDeps, "token" | "audit" | "logger">,
): Hono<ConsoleEnv> {
  const app = new Hono<ConsoleEnv>();
  const { audited, authorized } = controlGuards(deps);
  const opened: MiddlewareHandler<ConsoleEnv> = async (c, next) => {
    const name = c.req.param("name") ?? "";
    if (name.length > 256) throw new HttpError(400, "BAD_REQUEST", "domain name longer than 256 characters");
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket")
      throw new HttpError(400, "BAD_REQUEST", "the console is a WebSocket: send 'Upgrade: websocket'");
    if (!consoles.open)
      throw new HttpError(
        503,
        "CONSOLE_UNAVAILABLE",
        "this agent cannot open consoles (no DOMAIN_OPEN_CONSOLE)",
      );
    c.set("console", await consoles.open(name));
    await next();
  };
  app.get(
    "/api/v1/domains/:name/console",
    audited("console") as unknown as MiddlewareHandler<ConsoleEnv>,
    authorized as unknown as MiddlewareHandler<ConsoleEnv>,
    opened,
    consoles.upgradeWebSocket((c) => bridgeConsole((c as Context<ConsoleEnv>).get("console"))),
  );
  return app;
}
