import assert from "node:assert/strict";
import { test } from "node:test";
import { ErrorCode, LibvirtError } from "./errors.ts";

const err = (code: number, message: string) =>
  new LibvirtError({
    code,
    domain: 10,
    message,
    level: 2,
    str1: null,
    str2: null,
    str3: null,
    int1: -1,
    int2: -1,
  });

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
