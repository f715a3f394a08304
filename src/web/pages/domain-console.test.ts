/** The console card's close messages: each way a console socket ends says what happened and what to do. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { closeText } from "./domain-console.ts";

test("a console the server could not open says why, by the refusal's status", () => {
  const unreachable = "AGENT_UNREACHABLE: host h1's agent is unreachable: connect ECONNREFUSED 127.0.0.1:9";
  assert.match(
    closeText(4502, unreachable, false),
    /^The host's agent cannot be reached, .*: host h1's agent/,
  );
  assert.match(closeText(4504, "TIMEOUT: host h1's agent console timed out", false), /cannot be reached/);
  assert.match(
    closeText(4404, "AGENT_REFUSED: refused the console: 404", false),
    /no console for this domain/,
  );
  assert.match(closeText(4503, "AGENT_REFUSED: 503", false), /cannot open consoles/);
  assert.match(closeText(4500, "AGENT_REFUSED: 500", false), /^The console could not be opened: 500$/);
  assert.match(closeText(1006, "", false), /refused the console socket .*connect again/);
});

test("a console that closes after it opened names the one-session rule; a lost agent link says so", () => {
  const takenOver = closeText(1011, "stream had I/O failure", true);
  assert.match(
    takenOver,
    /^The console closed \(stream had I\/O failure\)\. There is one console session per domain/,
  );
  assert.match(closeText(1000, "console closed", true), /one console session per domain/);
  assert.match(closeText(1011, "agent connection lost", true), /lost its connection to the host's agent/);
});
