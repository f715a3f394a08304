/**
 * Request bodies of the agent's control endpoints (zod), their bounds, and what of them the audit log keeps; in
 * the model because the fleet server validates the same bodies before it routes them to an agent.
 */
import { z } from "zod";

/** Whole request body (exec's stdin included). */
export const MAX_BODY_BYTES = 1024 * 1024;
/**
 * Output kept per stream. libvirt refuses agent replies over 10 MB, and guest-exec-status carries both
 * streams in base64 (4/3 larger): 3 MiB each stays under it.
 */
export const MAX_OUTPUT_BYTES = 3 * 1024 * 1024;
/** Longest exec timeout, seconds. */
export const MAX_EXEC_TIMEOUT = 3600;

const base64 = /^[A-Za-z0-9+/]*={0,2}$/;

export const execBody = z
  .object({
    path: z.string().min(1, "must not be empty").max(4096),
    args: z.array(z.string().max(65536)).max(1024).default([]),
    input: z.string().optional(),
    inputEncoding: z.enum(["text", "base64"]).default("text"),
    /** Seconds. */
    timeout: z.number().positive().max(MAX_EXEC_TIMEOUT).default(30),
    captureOutput: z.boolean().default(true),
    maxOutputBytes: z
      .number()
      .int()
      .min(0)
      .max(MAX_OUTPUT_BYTES)
      .default(1024 * 1024),
  })
  .strict()
  .refine((b) => b.inputEncoding !== "base64" || b.input === undefined || base64.test(b.input), {
    message: "is not base64",
    path: ["input"],
  });

export type ExecBody = z.infer<typeof execBody>;

export const agentCommandBody = z
  .object({
    execute: z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, "must be an agent command name"),
    arguments: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

/** An exec request as the audit log keeps it: the program and its arguments (bounded), the input's size. */
export function auditedExec(b: ExecBody): Record<string, unknown> {
  const bound = (s: string) => (s.length > 256 ? `${s.slice(0, 256)}...` : s);
  return {
    path: bound(b.path),
    args: b.args.slice(0, 64).map(bound),
    ...(b.args.length > 64 ? { argsOmitted: b.args.length - 64 } : {}),
    inputBytes:
      b.input === undefined
        ? 0
        : Buffer.byteLength(b.input, b.inputEncoding === "base64" ? "base64" : "utf8"),
    timeout: b.timeout,
  };
}

/** The tracer events a trace-on request may name (kvm_pio or kvm:kvm_pio). */
export const traceEventNames = z
  .array(z.string().regex(/^(?:\w+:)?\w+$/, "must be an event name (kvm_pio or kvm:kvm_pio)"))
  .min(1)
  .max(64);

/** One output stream of a command run in the guest (POST /api/v1/domains/{name}/exec). */
export interface ExecOutput {
  base64: string;
  /** The bytes as text when they are valid UTF-8, else null. */
  text: string | null;
  bytes: number;
}

export interface GuestExecResult {
  /** The guest-side pid (the agent's handle). */
  pid: number;
  /** null when the program has not exited (timed out and not killed). */
  exitCode: number | null;
  signal: number | null;
  stdout: ExecOutput;
  stderr: ExecOutput;
  /** Output was cut, at maxOutputBytes or by the agent's own cap (16 MiB per stream). */
  truncated: boolean;
  timedOut: boolean;
  /** A kill was sent at the deadline and the program then exited. */
  killed: boolean;
  durationMs: number;
}

/** The longest latency window a disk audit may ask for (as `kvmon audit --window`), ms. */
export const MAX_AUDIT_WINDOW_MS = 600_000;

/** GET .../audit: QMP query-block on request (it taints the domain), and the latency window. */
export const diskAuditQuery = z
  .object({
    qmp: z
      .enum(["0", "1", "true", "false"])
      .transform((v) => v === "1" || v === "true")
      .default(false),
    windowMs: z.coerce.number().int().min(0).max(MAX_AUDIT_WINDOW_MS).default(2000),
  })
  .strict();
export type DiskAuditRequest = z.output<typeof diskAuditQuery>;
