/** label_replace, label_join and absent's labels, as Prometheus 2.42 computes them. */
import type { Labels } from "../storage/types.ts";
import type { VectorSelector } from "./ast.ts";
import { PromqlExecutionError } from "./errors.ts";
import type { InstantSample } from "./values.ts";

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function setLabel(labels: Labels, name: string, value: string): Labels {
  const out: Record<string, string> = { ...labels };
  if (value === "") delete out[name];
  else out[name] = value;
  return out;
}

/** Go's regexp template expansion: `$1`, `${1}`, `$name`, `${name}`, `$$`; an unknown group is empty. */
function expand(template: string, m: RegExpExecArray): string {
  return template.replace(/\$(?:\$|\{(\w+)\}|(\w+))/g, (all, braced?: string, bare?: string) => {
    const ref = braced ?? bare;
    if (ref === undefined) return "$";
    return (/^\d+$/.test(ref) ? m[Number(ref)] : m.groups?.[ref]) ?? "";
  });
}

/** label_replace(v, dst, replacement, src, regex): where src matches the anchored regex, dst = the expansion. */
export function labelReplace(
  samples: readonly InstantSample[],
  dst: string,
  replacement: string,
  src: string,
  regex: string,
): InstantSample[] {
  if (!LABEL_NAME.test(dst))
    throw new PromqlExecutionError(`invalid destination label name in label_replace(): ${dst}`);
  let re: RegExp;
  try {
    // Go writes named groups (?P<name>...), JavaScript (?<name>...).
    re = new RegExp(`^(?:${regex.replaceAll("(?P<", "(?<")})$`);
  } catch (e) {
    throw new PromqlExecutionError(
      `invalid regular expression in label_replace(): ${regex}: ${(e as Error).message}`,
    );
  }
  return samples.map((s) => {
    const m = re.exec(s.labels[src] ?? "");
    return m === null ? s : { ...s, labels: setLabel(s.labels, dst, expand(replacement, m)) };
  });
}

/** label_join(v, dst, separator, src...): dst = the sources' values joined. */
export function labelJoin(
  samples: readonly InstantSample[],
  dst: string,
  separator: string,
  sources: readonly string[],
): InstantSample[] {
  for (const name of [dst, ...sources]) {
    if (!LABEL_NAME.test(name)) throw new PromqlExecutionError(`invalid label name in label_join(): ${name}`);
  }
  return samples.map((s) => ({
    ...s,
    labels: setLabel(s.labels, dst, sources.map((n) => s.labels[n] ?? "").join(separator)),
  }));
}

/**
 * The labels of absent()'s sample: the selector's equality matchers (but the name); a label matched twice, or
 * other than by `=`, is left out.
 */
export function absentLabels(selector: VectorSelector | undefined): Labels {
  const out: Record<string, string> = {};
  const dropped = new Set<string>();
  for (const m of selector?.matchers ?? []) {
    if (m.name === "__name__") continue;
    if (m.op === "=" && !(m.name in out)) out[m.name] = m.value;
    else dropped.add(m.name);
  }
  for (const name of dropped) delete out[name];
  return out;
}
