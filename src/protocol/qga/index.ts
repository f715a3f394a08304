/** Public API of the guest-agent client. Import from here, not from the individual files. */
export type { ExecOptions, ExecResult, QgaClientOptions } from "./client.ts";
export { execResult, QgaClient } from "./client.ts";
export {
  DEFAULT_MAX_LINE_BYTES,
  decodeReply,
  encodeCommand,
  encodeSync,
  type Frame,
  LineReader,
  SYNC_DELIMITER,
} from "./codec.ts";
export type { ExecStatus, NoArgs, QgaCommand, ReturnOf } from "./commands.ts";
export { QgaCommands, QgaLimits } from "./commands.ts";
export { QgaCommandError, QgaProtocolError, QgaUnavailableError } from "./errors.ts";
export { type JsonValue, parseJson } from "./json.ts";
export { type AgentCommandSender, QgaLibvirtTransport } from "./libvirt-transport.ts";
export { type QgaSocketOptions, QgaSocketTransport } from "./socket-transport.ts";
export { AGENT_UNAVAILABLE_TEXT, libvirtAgentErrorDesc, type QgaTransport } from "./transport.ts";
