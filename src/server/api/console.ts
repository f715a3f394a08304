/**
 * GET /api/v1/domains/{host}/{name}/console (operator): the domain's serial console as a WebSocket, bridged to
 * the host agent's console WebSocket (src/agent/control/console.ts), which bridges to libvirt's console stream.
 * The agent's socket is opened before the upgrade, so a refusal (no such domain, agent down) is an HTTP error
 * with its code and lands in the audit log as such; frames then pass through both ways unchanged.
 *
 * Browsers cannot set headers on a WebSocket, nor read the status of a refused upgrade. So the dashboard first
 * asks POST .../console/ticket (with its bearer token) for a single-use ticket (auth/console-tickets.ts) and
 * connects with `?ticket=`; the audit log names the principal the ticket was issued to. On such a ticketed
 * connection a console that cannot be opened is upgraded and closed at once with code 4000 + the HTTP status
 * and `CODE: message` as the reason, so the page can say why; the audit log records that status.
 */
import type { UpgradeWebSocket } from "hono/ws";
import type { WebSocket } from "ws";
import { z } from "zod";
import { TimeoutError } from "../../shared/errors.ts";
import type { ConsoleTickets } from "../auth/console-tickets.ts";
import { agentTarget, type ControlDeps } from "./control.ts";
import { BadRequestError, HttpError } from "./errors.ts";
import { route, type RouteSpec } from "./route.ts";

const consoleQuery = z.object({ ticket: z.string().max(128).optional() }).strict();

/** A WebSocket close reason is at most 123 bytes of UTF-8. */
function closeReason(text: string): string {
  let s = text;
  while (Buffer.byteLength(s) > 123) s = s.slice(0, -1);
  return s;
}

export function consoleRoutes(
  deps: ControlDeps,
  tickets: ConsoleTickets,
  upgradeWebSocket: UpgradeWebSocket,
): RouteSpec[] {
  return [
    route({
      method: "POST",
      path: "/api/v1/domains/:host/:name/console/ticket",
      access: "operator",
      audit: "console-ticket",
      summary:
        "A single-use ticket (30 s) to open the domain's console with ?ticket= (browsers cannot set headers)",
      handler: (c) => {
        // Checked now, so a host without an agent is an error the page can read.
        const { name } = agentTarget(c, deps);
        const host = c.req.param("host") ?? "";
        return c.json(tickets.issue(c.get("principal"), host, name));
      },
    }),
    route({
      method: "GET",
      path: "/api/v1/domains/:host/:name/console",
      access: "operator",
      audit: "console",
      websocket: true,
      ticket: true,
      query: consoleQuery,
      summary: "The domain's serial console (WebSocket, binary frames), through the host's agent",
      handler: async (c, { query }) => {
        const { agent, name } = agentTarget(c, deps);
        const ticketed = query.ticket !== undefined;
        if (ticketed) c.get("audit").what = { ticket: true };
        if (c.req.header("upgrade")?.toLowerCase() !== "websocket")
          return c.json(
            {
              error: {
                code: "BAD_REQUEST",
                message: "the console is a WebSocket: send 'Upgrade: websocket'",
              },
            },
            400,
          );
        let upstream: WebSocket;
        try {
          upstream = await agent.openConsole(name);
        } catch (e) {
          if (!ticketed || !(e instanceof HttpError || e instanceof TimeoutError)) throw e;
          const status = e instanceof HttpError ? e.status : 504;
          const note = c.get("audit");
          note.status = status;
          note.code = e.code;
          const refuse = upgradeWebSocket(() => ({
            onOpen: (_e, ws) => ws.close(4000 + status, closeReason(`${e.code}: ${e.message}`)),
          }));
          const res = await refuse(c, () => Promise.resolve());
          if (res) return res;
          throw e;
        }
        const upgrade = upgradeWebSocket(() => ({
          onOpen: (_e, ws) => {
            upstream.on("message", (data: Buffer) => ws.send(new Uint8Array(data)));
            upstream.on("close", (code: number, reason: Buffer) => {
              // 1005 (no code) and 1006 (dropped) are only reported, never sent.
              if (code === 1006) ws.close(1011, "agent connection lost");
              else ws.close(code === 1005 ? 1000 : code, closeReason(reason.toString() || "console closed"));
            });
            upstream.on("error", () => ws.close(1011, "agent connection failed"));
          },
          onMessage: (e) => {
            upstream.send(
              typeof e.data === "string" ? Buffer.from(e.data) : Buffer.from(e.data as ArrayBuffer),
            );
          },
          onClose: () => upstream.close(),
        }));
        const res = await upgrade(c, () => Promise.resolve());
        if (res) return res;
        upstream.close();
        throw new BadRequestError("the console is a WebSocket: send 'Upgrade: websocket'");
      },
    }),
  ];
}
