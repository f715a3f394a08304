/**
 * What every benchmark script's command line shares: options with typed defaults (and a --help that prints
 * them, so the READMEs cannot drift from the code), a stderr logger, and the versions of the tools compared.
 */
import { execFileSync } from "node:child_process";
import { parseArgs } from "node:util";

type None = Record<never, never>;
export interface OptionSpec<
  N extends Record<string, number>,
  S extends Record<string, string>,
  B extends Record<string, boolean>,
  L extends Record<string, string[]>,
> {
  /** Numeric options and their defaults: must parse as finite numbers >= 0. */
  numbers: N;
  strings?: S;
  /** Boolean switches (default false unless given here). */
  flags?: B;
  /** Options that may be repeated; each default is the list used when the option is not given. */
  lists?: L;
}
export type Options<N, S, B, L> = { [K in keyof N]: number } & { [K in keyof S]: string } & {
  [K in keyof B]: boolean;
} & { [K in keyof L]: string[] };

/** Bad command line: the message says which option and why. */
export class BenchUsageError extends Error {
  override name = "BenchUsageError";
}

/** One line per option with its default, for --help and the READMEs. */
export function usage(
  script: string,
  spec: OptionSpec<
    Record<string, number>,
    Record<string, string>,
    Record<string, boolean>,
    Record<string, string[]>
  >,
): string {
  const parts = [
    ...Object.entries(spec.numbers).map(([k, v]) => `[--${k} ${v}]`),
    ...Object.entries(spec.strings ?? {}).map(([k, v]) => `[--${k} ${v === "" ? "''" : v}]`),
    ...Object.keys(spec.flags ?? {}).map((k) => `[--${k}]`),
    ...Object.entries(spec.lists ?? {}).map(([k, v]) => `[--${k} ${JSON.stringify(v.join(" | "))} ...]`),
  ];
  return `usage: ${script} ${parts.join(" ")}`;
}

/** Parses argv against spec; `--help` prints the usage with the defaults and exits 0. */
export function benchArgs<
  N extends Record<string, number>,
  S extends Record<string, string> = None,
  B extends Record<string, boolean> = None,
  L extends Record<string, string[]> = None,
>(script: string, spec: OptionSpec<N, S, B, L>, argv = process.argv.slice(2)): Options<N, S, B, L> {
  const options: Record<string, { type: "string" | "boolean"; multiple?: boolean }> = {
    help: { type: "boolean" },
  };
  for (const k of [...Object.keys(spec.numbers), ...Object.keys(spec.strings ?? {})])
    options[k] = { type: "string" };
  for (const k of Object.keys(spec.flags ?? {})) options[k] = { type: "boolean" };
  for (const k of Object.keys(spec.lists ?? {})) options[k] = { type: "string", multiple: true };
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    values = parseArgs({ args: argv, options, strict: true }).values as typeof values;
  } catch (e) {
    throw new BenchUsageError(`${(e as Error).message}\n${usage(script, spec)}`, { cause: e });
  }
  if (values.help) {
    process.stdout.write(`${usage(script, spec)}\n`);
    process.exit(0);
  }
  const out: Record<string, number | string | boolean | string[]> = {};
  for (const [k, d] of Object.entries(spec.numbers)) {
    const v = values[k] === undefined ? d : Number(values[k]);
    if (!Number.isFinite(v) || v < 0)
      throw new BenchUsageError(`--${k}: not a number >= 0: ${String(values[k])}`);
    out[k] = v;
  }
  for (const [k, d] of Object.entries(spec.strings ?? {})) out[k] = (values[k] as string | undefined) ?? d;
  for (const [k, d] of Object.entries(spec.flags ?? {})) out[k] = (values[k] as boolean | undefined) ?? d;
  for (const [k, d] of Object.entries(spec.lists ?? {})) out[k] = (values[k] as string[] | undefined) ?? d;
  return out as Options<N, S, B, L>;
}

/** "a,b,,c" as numbers, empty items dropped ('' means none). */
export const numberList = (s: string): number[] =>
  s
    .split(",")
    .filter((x) => x !== "")
    .map(Number);

/** A logger writing "[tag] message" lines to stderr (stdout carries the markdown results). */
export const logger =
  (tag: string) =>
  (s: string): void => {
    process.stderr.write(`[${tag}] ${s}\n`);
  };

/** A command's trimmed output, or its stderr when it fails (for the version lines of a results header). */
export function commandOutput(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
  } catch (e) {
    return String((e as { stderr?: string }).stderr ?? "?").trim();
  }
}

/** The installed version of a Debian package. */
export const debVersion = (name: string): string =>
  commandOutput("dpkg-query", ["-W", "-f=${Version}", name]);
