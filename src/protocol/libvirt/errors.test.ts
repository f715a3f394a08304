import assert from "node:assert/strict";
import { test } from "node:test";
import { KvmonError, TimeoutError as SharedTimeoutError } from "../../shared/errors.ts";
import {
  AuthError,
  ConnectionClosedError,
  DuplicateHandlerError,
  ErrorCode,
  FramingError,
  LibvirtError,
  libvirtErrorCode,
  NotConnectedError,
  ProtocolError,
  TimeoutError,
  UriError,
} from "./errors.ts";
import { NO_ERROR_DETAILS } from "./testing/mock-libvirtd.ts";

const err = (code: number, message: string) =>
  new LibvirtError({ ...NO_ERROR_DETAILS, domain: 10, code, message });

test("isAgentUnavailable: unresponsive, unsynced and not configured (as libvirtd 9.0 words it)", () => {
  assert.ok(err(ErrorCode.AGENT_UNRESPONSIVE, "Guest agent is not responding").isAgentUnavailable());
  assert.ok(err(ErrorCode.AGENT_UNSYNCED, "guest agent unsynced").isAgentUnavailable());
  // A domain without the org.qemu.guest_agent.0 channel.
  assert.ok(
    err(
      ErrorCode.ARGUMENT_UNSUPPORTED,
      "argument unsupported: QEMU guest agent is not configured",
    ).isAgentUnavailable(),
  );
  // The same code for an unrelated reason is not about the agent.
  assert.ok(
    !err(
      ErrorCode.ARGUMENT_UNSUPPORTED,
      "argument unsupported: unsupported flags (0x8)",
    ).isAgentUnavailable(),
  );
  assert.ok(!err(ErrorCode.OPERATION_INVALID, "domain is not running").isAgentUnavailable());
});

test("LibvirtError is a KvmonError: stable code LIBVIRT_<NAME> from the number, which stays as libvirtCode", () => {
  const e = err(ErrorCode.NO_DOMAIN, "Domain not found");
  assert.ok(e instanceof KvmonError);
  assert.equal(e.code, "LIBVIRT_NO_DOMAIN");
  assert.equal(e.libvirtCode, 42);
  assert.equal(err(ErrorCode.OPERATION_DENIED, "read only").code, "LIBVIRT_OPERATION_DENIED");
  assert.equal(err(41, "warning").code, "LIBVIRT_WAR_NO_NETWORK");
  assert.equal(err(111, "x").code, "LIBVIRT_NO_NETWORK_METADATA");
  // Numbers the table does not know (newer daemons, garbage) get the generic code, never undefined.
  for (const n of [112, 9999, -1]) assert.equal(libvirtErrorCode(n), "LIBVIRT_ERROR");
  // Every named number in ErrorCode maps to its own name.
  for (const [name, n] of Object.entries(ErrorCode)) assert.equal(libvirtErrorCode(n), `LIBVIRT_${name}`);
});

test("the client's TimeoutError is the shared one; every client error has a stable code", () => {
  assert.equal(TimeoutError, SharedTimeoutError);
  const errors: KvmonError[] = [
    new ConnectionClosedError(),
    new NotConnectedError(),
    new ProtocolError("bad"),
    new FramingError("bad length"),
    new AuthError("sasl"),
    new UriError("bad uri"),
    new DuplicateHandlerError("twice"),
  ];
  assert.deepEqual(
    errors.map((e) => e.code),
    [
      "LIBVIRT_CONNECTION_CLOSED",
      "LIBVIRT_NOT_CONNECTED",
      "LIBVIRT_PROTOCOL",
      "LIBVIRT_FRAMING",
      "LIBVIRT_AUTH",
      "LIBVIRT_URI",
      "LIBVIRT_DUPLICATE_HANDLER",
    ],
  );
  assert.ok(new NotConnectedError() instanceof ConnectionClosedError);
  assert.ok(new FramingError("x") instanceof ProtocolError);
});
