/**
 * Reads one declared custom command (custom-config.ts) from a guest and turns the declared fields of its reply
 * into series. The reply is the guest's, so untrusted: only own members are followed (a `constructor` or
 * `__proto__` key is data), a value of the wrong type is a GuestDataError for this guest, label values are
 * bounded like every guest string, and a command's series are capped (CustomLimits.seriesPerCommand).
 */
import { z } from "zod";
import type { Emit, MetricSpec } from "../../metrics/catalog.ts";
import type { GuestCustomSeries } from "../../model/types.ts";
import type { JsonValue, QgaCommand } from "../../protocol/qga/index.ts";
import type { GuestCall } from "./call.ts";
import { type CustomCommand, CustomLimits, type CustomMetric } from "./custom-config.ts";
import { boundText, GuestDataError } from "./limits.ts";

/** The codec already parsed and bounded the reply (exact integers, nesting, size); its shape is checked here. */
const anyReturn = z.custom<JsonValue>(() => true);

/** Calls the command if the guest's agent lists it enabled; null when it does not (no series). */
export async function readCustom(g: GuestCall, c: CustomCommand): Promise<GuestCustomSeries[] | null> {
  if (!g.has(c.command)) return null;
  const command: QgaCommand<object | undefined, JsonValue> = { name: c.command, returns: anyReturn };
  const reply = await g.qga.call(command, c.arguments, { timeoutMs: g.timeoutMs });
  return customSeries(c, reply, g.truncated);
}

/** The series of every declared metric of `c` in `reply` (the command's `return` value). */
export function customSeries(
  c: CustomCommand,
  reply: JsonValue,
  truncated: Set<string>,
): GuestCustomSeries[] {
  const out: GuestCustomSeries[] = [];
  for (const m of c.metrics) {
    const room = CustomLimits.seriesPerCommand - out.length;
    const series = metricSeries(c.command, m, reply, room);
    if (series.length > room) {
      truncated.add(`custom:${c.command}`);
      return [...out, ...series.slice(0, room)];
    }
    out.push(...series);
  }
  return out;
}

/** Up to `room` + 1 series of one metric (one more than room says the command's cap was reached). */
function metricSeries(command: string, m: CustomMetric, reply: JsonValue, room: number): GuestCustomSeries[] {
  const what = `${command} ${m.path.text}`;
  const at = follow(reply, m.path.to, what);
  if (m.path.inItem === null) {
    const value = toValue(at, m, what);
    return value === null ? [] : [{ metric: m.spec.name, label: null, value }];
  }
  if (at === undefined || at === null) return [];
  if (!Array.isArray(at)) throw new GuestDataError(`${what}: expected a list, got ${typeName(at)}`);
  const inItem = m.path.inItem;
  if (m.sum) {
    let total = 0;
    for (const item of at) total += toValue(follow(item, inItem, what), m, what) ?? 0;
    return [{ metric: m.spec.name, label: null, value: total }];
  }
  const seen = new Set<string>();
  const out: GuestCustomSeries[] = [];
  for (const item of at) {
    const value = toValue(follow(item, inItem, what), m, what);
    if (value === null) continue;
    const label = toLabel(follow(item, m.label!.field, what), `${command} ${m.label!.field.join(".")}`);
    if (seen.has(label)) continue; // one series per label value: the first item wins
    seen.add(label);
    out.push({ metric: m.spec.name, label, value });
    if (out.length > room) break;
  }
  return out;
}

/** The value at `steps` inside `v`; undefined where a member is missing (an optional field). */
function follow(v: JsonValue | undefined, steps: readonly string[], what: string): JsonValue | undefined {
  let cur = v;
  for (const step of steps) {
    if (cur === undefined || cur === null) return undefined;
    if (typeof cur !== "object" || Array.isArray(cur) || typeof cur === "bigint")
      throw new GuestDataError(`${what}: expected an object at '${step}', got ${typeName(cur)}`);
    cur = Object.hasOwn(cur, step) ? cur[step] : undefined;
  }
  return cur;
}

function toValue(v: JsonValue | undefined, m: CustomMetric, what: string): number | null {
  if (v === undefined || v === null) return null;
  let n: number;
  if (typeof v === "boolean") n = v ? 1 : 0;
  else if (typeof v === "number" || typeof v === "bigint") n = Number(v);
  else throw new GuestDataError(`${what}: expected a number, got ${typeName(v)}`);
  const scaled = n * m.scale;
  if (!Number.isFinite(scaled)) throw new GuestDataError(`${what}: ${String(v)} is out of range`);
  if (m.spec.type === "counter" && scaled < 0)
    throw new GuestDataError(`${what}: ${String(v)} is negative (a counter)`);
  return scaled;
}

function toLabel(v: JsonValue | undefined, what: string): string {
  if (typeof v === "string") return boundText(v);
  if (typeof v === "number" || typeof v === "bigint") return String(v);
  throw new GuestDataError(`${what}: expected a string or number for the label, got ${typeName(v)}`);
}

function typeName(v: JsonValue | undefined): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  return Array.isArray(v) ? "a list" : typeof v;
}

/** Emits the guest's custom series under their declared families (by name; unknown names are skipped). */
export function exposeCustom(
  series: readonly GuestCustomSeries[] | null,
  specs: ReadonlyMap<string, MetricSpec>,
  emit: Emit,
): void {
  for (const s of series ?? []) {
    const spec = specs.get(s.metric);
    if (spec) emit(spec, s.value, s.label === null ? [] : [s.label]);
  }
}
