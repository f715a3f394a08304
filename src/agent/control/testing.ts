/**
 * Unit-test doubles for the control API: a guest agent scripted per command (a QgaTransport answering reply
 * lines), and the ControlDeps around it. Only for codec and error-path tests; the real agent is tested on the
 * lab (test/integration/agent-control.test.ts).
 */
import { QgaClient, type QgaTransport } from "../../protocol/qga/index.ts";
import { Logger } from "../log.ts";
import type { ExecChannel } from "./guest-exec.ts";
import type { ControlDeps } from "./routes.ts";
import { controlToken } from "./token.ts";

export type Script = (execute: string, args: Record<string, unknown> | undefined) => unknown;

/** A guest agent whose replies come from `script` (its return value is the reply's `return`). */
export function scriptedChannel(script: Script, calls: string[] = []): ExecChannel {
  const transport: QgaTransport = {
    description: "scripted",
    request: async (execute, args) => {
      calls.push(execute);
      const v = script(execute, args as Record<string, unknown> | undefined);
      return typeof v === "string" && v.startsWith("{") ? v : JSON.stringify({ return: v });
    },
    close: async () => undefined,
  };
  return { qga: new QgaClient(transport) };
}

export const TEST_TOKEN = "0123456789abcdef0123456789abcdef";

export function testDeps(channel: ExecChannel, over: Partial<ControlDeps> = {}): ControlDeps {
  return {
    token: controlToken(TEST_TOKEN),
    audit: null,
    logger: new Logger(() => undefined),
    channels: {
      channel: async (name) => ({ ...channel, domain: { name, uuid: "u", id: 1 } }),
      console: () => Promise.reject(new Error("no console in control unit tests")),
      close: async () => undefined,
    },
    guestExec: true,
    guestPassthrough: true,
    killOnTimeout: true,
    callTimeoutMs: 1000,
    ...over,
  };
}
