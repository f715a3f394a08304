/**
 * The domain's serial console in the page (operators only; the server refuses it to viewers anyway): xterm.js
 * over the server's console WebSocket, bytes both ways in binary frames as `kvmon console` sends them. A browser
 * cannot set the socket's Authorization header, so each connect first asks for a single-use ticket (30 s) with
 * the session's token. xterm.js is loaded on the first connect (its own chunk), so pages without a console
 * never download it. The terminal fits its box and follows its size.
 */
import type { FitAddon } from "@xterm/addon-fit";
import type { Terminal } from "@xterm/xterm";
import type { ApiClient } from "../../api/client.ts";
import { ApiError } from "../../api/errors.ts";
import { h } from "../dom.ts";

type State = "idle" | "connecting" | "open" | "closed" | "error";

/**
 * What a close means to the person at the console. Codes 4000+ carry the HTTP status of a refusal (the server
 * could not open the console). A console taken over by another session ends with libvirt's "stream had I/O
 * failure" (1011), like any stream failure, so the text names that cause as the likely one.
 */
export function closeText(code: number, reason: string, wasOpen: boolean): string {
  const why = reason.replace(/^[A-Z_]+: /, "");
  if (code === 4502 || code === 4504)
    return `The host's agent cannot be reached, so the console cannot be opened: ${why}`;
  if (code === 4404) return `The host's agent has no console for this domain (is it running?): ${why}`;
  if (code === 4503) return `The host's agent cannot open consoles: ${why}`;
  if (code >= 4000) return `The console could not be opened: ${why}`;
  if (!wasOpen)
    return "The server refused the console socket (the ticket was spent or expired): connect again.";
  if (code === 1011 && /^agent connection/.test(reason))
    return `The server lost its connection to the host's agent (${reason}): connect again.`;
  return `The console closed${reason ? ` (${reason})` : ""}. There is one console session per domain: opening it elsewhere (another tab, \`kvmon console\`) ends this one. Connect again to take it back.`;
}

function ticketErrorText(e: unknown): string {
  if (e instanceof ApiError && e.code === "AGENT_NOT_REGISTERED")
    return "The server cannot reach this host's agent for control calls: an admin registers it with `kvmon server host add <host> --agent-url URL --control-token-file FILE`.";
  return `Could not open the console: ${(e as Error).message}`;
}

async function loadTerminal(): Promise<{ term: Terminal; fit: FitAddon }> {
  const [{ Terminal }, { FitAddon }] = await Promise.all([
    import("@xterm/xterm"),
    import("@xterm/addon-fit"),
  ]);
  const term = new Terminal({ cursorBlink: true, fontSize: 13, scrollback: 5000 });
  const fit = new FitAddon();
  term.loadAddon(fit);
  return { term, fit };
}

export function consoleCard(
  client: ApiClient,
  host: string,
  name: string,
): { el: HTMLElement; stop: () => void } {
  const connect = h("button", { type: "button", class: "console-connect" }, "Connect");
  const disconnect = h(
    "button",
    { type: "button", class: "console-disconnect", disabled: true },
    "Disconnect",
  );
  const status = h("p", { class: "console-status", role: "status" }, "Not connected.");
  const screen = h("div", { class: "console-screen", hidden: true });
  const el = h(
    "section",
    { class: "card console", "aria-label": "Serial console", "data-state": "idle" },
    h("h2", {}, "Serial console"),
    h(
      "p",
      { class: "notice audited" },
      "Audited: who opens this console, when and from where is recorded in the server's and the host agent's audit logs. What you type goes to the guest's serial port as it is.",
    ),
    h("div", { class: "controls" }, connect, disconnect),
    status,
    screen,
  );
  const encoder = new TextEncoder();
  let terminal: { term: Terminal; fit: FitAddon } | null = null;
  let socket: WebSocket | null = null;
  let leaving = false;
  const resized = new ResizeObserver(() => terminal?.fit.fit());

  const show = (state: State, text: string) => {
    el.dataset.state = state;
    status.textContent = text;
    status.classList.toggle("error", state === "error");
    connect.disabled = state === "connecting" || state === "open";
    disconnect.disabled = state !== "open" && state !== "connecting";
  };

  const send = (bytes: Uint8Array) => {
    if (socket?.readyState === WebSocket.OPEN) socket.send(bytes);
  };

  const open = async () => {
    show("connecting", "Connecting…");
    leaving = false;
    let ticket: string;
    let loaded: { term: Terminal; fit: FitAddon };
    try {
      [{ ticket }, loaded] = await Promise.all([
        client.consoleTicket(host, name),
        terminal ?? loadTerminal(),
      ]);
    } catch (e) {
      return show("error", ticketErrorText(e));
    }
    if (leaving) return show("closed", "Disconnected.");
    if (!terminal) {
      terminal = loaded;
      screen.hidden = false;
      loaded.term.open(screen);
      loaded.term.onData((d) => send(encoder.encode(d)));
      loaded.term.onBinary((d) => send(Uint8Array.from(d, (c) => c.charCodeAt(0) & 0xff)));
      resized.observe(screen);
    }
    terminal.fit.fit();
    const url = client.consoleUrl(host, name, ticket, location.origin);
    const ws = new WebSocket(url);
    ws.binaryType = "arraybuffer";
    socket = ws;
    let wasOpen = false;
    ws.onopen = () => {
      wasOpen = true;
      show(
        "open",
        "Connected. Press Enter for a prompt; the session ends when you disconnect or leave the page.",
      );
      terminal?.term.focus();
    };
    ws.onmessage = (ev: MessageEvent<ArrayBuffer | string>) =>
      terminal?.term.write(typeof ev.data === "string" ? ev.data : new Uint8Array(ev.data));
    ws.onclose = (ev) => {
      if (socket !== ws) return;
      socket = null;
      if (leaving) show("closed", "Disconnected.");
      else show(wasOpen && ev.code === 1000 ? "closed" : "error", closeText(ev.code, ev.reason, wasOpen));
    };
  };

  connect.addEventListener("click", () => void open());
  disconnect.addEventListener("click", () => {
    leaving = true;
    if (socket) socket.close(1000, "disconnected");
    else show("closed", "Disconnected.");
  });
  return {
    el,
    stop: () => {
      leaving = true;
      socket?.close(1000, "left the page");
      resized.disconnect();
      terminal?.term.dispose();
    },
  };
}
