/**
 * The agent's control token: from the config (`controlToken`, env KVMON_CONTROL_TOKEN) or a file
 * (`controlTokenFile`, which must not be readable by group or others, like an ssh key). The token itself is
 * never logged or audited; its id (`token:` + the first 12 hex digits of its SHA-256) names the caller.
 * Comparison hashes both sides to equal-length digests and compares those in constant time, so neither the
 * token's content nor its length leaks through response timing.
 */
import crypto from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { ConfigError } from "../errors.ts";

/** Shorter tokens are guessable; 32 random bytes in hex or base64 are far above this. */
export const MIN_TOKEN_LENGTH = 16;

export interface ControlToken {
  /** Names the caller in the audit log; not secret. */
  readonly id: string;
  matches(given: string): boolean;
}

export interface TokenSources {
  token: string | null;
  tokenFile: string | null;
  /** Injectable for tests. */
  readFile?: (path: string) => string;
  fileMode?: (path: string) => number;
}

const sha256 = (s: string) => crypto.createHash("sha256").update(s, "utf8").digest();

export function controlToken(secret: string): ControlToken {
  const expected = sha256(secret);
  return {
    id: `token:${expected.toString("hex").slice(0, 12)}`,
    matches: (given) => crypto.timingSafeEqual(sha256(given), expected),
  };
}

/**
 * A secret kept in a file (a token): trimmed, and refused when group or others may read the file, like an ssh
 * key. `key` names the config key in the ConfigError.
 */
export function readSecretFile(
  path: string,
  key: string,
  readFile: (path: string) => string = (p) => readFileSync(p, "utf8"),
  fileMode: (path: string) => number = (p) => statSync(p).mode,
): string {
  let mode: number;
  let secret: string;
  try {
    mode = fileMode(path);
    secret = readFile(path).trim();
  } catch (e) {
    throw new ConfigError(key, path, `cannot read: ${(e as Error).message}`, { cause: e });
  }
  if ((mode & 0o077) !== 0)
    throw new ConfigError(
      key,
      path,
      `mode ${(mode & 0o777).toString(8)} lets group or others read the token; chmod 600 it`,
    );
  return secret;
}

/** The configured token, or null (control endpoints disabled). A bad token or token file is a ConfigError. */
export function loadControlToken(src: TokenSources): ControlToken | null {
  if (src.token !== null && src.tokenFile !== null)
    throw new ConfigError(
      "controlTokenFile",
      "config",
      "set either controlToken or controlTokenFile, not both",
    );
  const secret =
    src.tokenFile !== null
      ? readSecretFile(src.tokenFile, "controlTokenFile", src.readFile, src.fileMode)
      : src.token;
  if (secret === null) return null;
  if (secret.length < MIN_TOKEN_LENGTH)
    throw new ConfigError(
      src.tokenFile !== null ? "controlTokenFile" : "controlToken",
      src.tokenFile ?? "config",
      `the token must be at least ${MIN_TOKEN_LENGTH} characters (e.g. openssl rand -hex 32)`,
    );
  return controlToken(secret);
}
