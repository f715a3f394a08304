/**
 * GET /api/v1/domains/{host}/{name}/console (operator): the domain's serial console as a WebSocket, bridged to
 * the host agent's console WebSocket (src/agent/control/console.ts), which bridges to libvirt's console stream.
 * The agent's socket is opened before the upgrade, so a refusal (no such domain, agent down) is an HTTP error
 * with its code and lands in the audit log as such; frames then pass through both ways unchanged.
 */
import type { UpgradeWebSocket } from "hono/ws";
import type { WebSocket } from "ws";
import { agentTarget, type ControlDeps } from "./control.ts";
import { BadRequestError } from "./errors.ts";
import { route, type RouteSpec } from "./route.ts";

export function consoleRoute(deps: ControlDeps, upgradeWebSocket: UpgradeWebSocket): RouteSpec {
  return route({
    method: "GET",
    path: "/api/v1/domains/:host/:name/console",
    access: "operator",
    audit: "console",
    websocket: true,
    summary: "The domain's serial console (WebSocket, binary frames), through the host's agent",
    handler: async (c) => {
      const { agent, name } = agentTarget(c, deps);
      if (c.req.header("upgrade")?.toLowerCase() !== "websocket")
        return c.json(
          {
            error: { code: "BAD_REQUEST", message: "the console is a WebSocket: send 'Upgrade: websocket'" },
          },
          400,
        );
      const upstream: WebSocket = await agent.openConsole(name);
      const upgrade = upgradeWebSocket(() => ({
        onOpen: (_e, ws) => {
          upstream.on("message", (data: Buffer) => ws.send(new Uint8Array(data)));
          upstream.on("close", (code: number) => ws.close(code === 1005 ? 1000 : code, "console closed"));
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
  });
}
