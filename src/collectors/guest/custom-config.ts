/**
 * Custom guest-agent commands declared in the agent's config (`guest.custom`): a site whose agent has its own
 * command (or a stock one kvmon does not read) says which command to call on which tier, with which arguments,
 * and which fields of the reply become which `kvmon_guest_custom_*` metrics. This file is the declaration: its
 * zod schema (errors name the key, e.g. `guest.custom.0.metrics.1.path`) and the metric families it declares.
 */
import { z } from "zod";
import { counter, gauge, type MetricSpec } from "../../metrics/catalog.ts";
import type { Tier } from "./guest-state.ts";

/** Bounds on what a config may declare, so the series it can make stay bounded too (see custom.ts). */
export const CustomLimits = {
  commands: 16,
  metricsPerCommand: 16,
  /** Series one custom command makes per guest (list items × metrics); more are cut and reported. */
  seriesPerCommand: 256,
} as const;

export const CUSTOM_PREFIX = "kvmon_guest_custom_";

/**
 * Commands that change the guest (or the channel's sync) are never sent by the guest view: it only reads.
 * A site's own read-only command is its responsibility; these are the stock ones that write.
 */
const WRITING_COMMAND = /^guest-(exec|file-|set-|suspend-|fsfreeze-|fstrim|shutdown|sync|ssh-)/;

/**
 * A path into the reply: `return`, then `.field` steps; one step may end in `[]` (every item of that list),
 * after which the steps are read inside each item. `to` leads to the list (or the value), `inItem` inside
 * each item (null without a list).
 */
export interface ReplyPath {
  text: string;
  to: string[];
  inItem: string[] | null;
}

export interface CustomMetric {
  spec: MetricSpec;
  path: ReplyPath;
  /** The label of each list item's series: its name and the field (inside the item) that gives its value. */
  label: { name: string; field: string[] } | null;
  /** Sum the list items' values into one series (e.g. guest-get-vcpus `return[].online` = vCPUs online). */
  sum: boolean;
  /** Multiplier applied to each value (unit scaling: 1024 for KiB to bytes, 0.001 for ms to seconds). */
  scale: number;
}

export interface CustomCommand {
  command: string;
  arguments: Record<string, unknown> | undefined;
  tier: Tier;
  metrics: CustomMetric[];
}

const FIELD = /^[A-Za-z0-9_-]+$/;
const METRIC_NAME = /^[a-z][a-z0-9_]*$/;
const LABEL_NAME = /^[a-z][a-z0-9_]*$/;
/** Labels every domain series already has (the emitter adds them). */
const RESERVED_LABELS = new Set(["domain", "uuid"]);

/** Parses `return.a.b`, `return[].x`, `return.list[].y.z`; an error text when it is not such a path. */
export function parseReplyPath(text: string): ReplyPath | string {
  const steps = text.split(".");
  if (steps[0] !== "return" && steps[0] !== "return[]")
    return "must start with 'return' (e.g. return[].used-bytes)";
  const to: string[] = [];
  let inItem: string[] | null = null;
  for (const [i, raw] of steps.entries()) {
    const isList = raw.endsWith("[]");
    const field = isList ? raw.slice(0, -2) : raw;
    if (i > 0 && !FIELD.test(field)) return `'${raw}' is not a field name (letters, digits, '-', '_')`;
    if (isList && inItem !== null) return "may contain one '[]' only";
    if (i > 0) (inItem ?? to).push(field);
    if (isList) inItem = [];
  }
  return { text, to, inItem };
}

const fieldPath = z.string().transform((s, ctx) => {
  const steps = s.split(".");
  if (!steps.every((f) => FIELD.test(f))) {
    ctx.addIssue({ code: "custom", message: "must be field names joined by '.' (inside each list item)" });
    return z.NEVER;
  }
  return steps;
});

const metricSchema = z
  .object({
    name: z.string().regex(METRIC_NAME, "must be lower_snake_case (becomes kvmon_guest_custom_<name>)"),
    type: z.enum(["gauge", "counter"]).default("gauge"),
    help: z.string().min(1).max(200).optional(),
    path: z.string(),
    label: z
      .object({
        name: z.string().regex(LABEL_NAME, "must be lower_snake_case"),
        path: fieldPath,
      })
      .strict()
      .optional(),
    sum: z.boolean().default(false),
    scale: z.number().positive("must be above 0").finite().default(1),
  })
  .strict();

const commandSchema = z
  .object({
    command: z.string().regex(/^[A-Za-z0-9_-]+$/, "must be an agent command name"),
    arguments: z.record(z.string(), z.unknown()).optional(),
    tier: z.enum(["fast", "medium", "slow"]).default("medium"),
    metrics: z
      .array(metricSchema)
      .min(1, "must declare at least one metric")
      .max(CustomLimits.metricsPerCommand),
  })
  .strict();

type RawMetric = z.output<typeof metricSchema>;

/** The checks one field at a time cannot make: the path's shape against label/sum, names and counters. */
function toMetric(
  command: string,
  m: RawMetric,
  ctx: z.RefinementCtx,
  at: (string | number)[],
): CustomMetric {
  const issue = (key: string, message: string) =>
    ctx.addIssue({ code: "custom", message, path: [...at, key] });
  const path = parseReplyPath(m.path);
  const name = CUSTOM_PREFIX + m.name;
  if (typeof path === "string") issue("path", path);
  else if (path.inItem === null && (m.label || m.sum))
    issue(m.label ? "label" : "sum", "needs a list in the path ('[]')");
  else if (path.inItem !== null && !m.label && !m.sum)
    issue("path", "goes through a list ('[]'): give a label (one series per item) or sum: true");
  else if (m.label && m.sum) issue("sum", "cannot be combined with label");
  if (m.label && RESERVED_LABELS.has(m.label.name)) issue("label", `'${m.label.name}' is reserved`);
  if (m.type === "counter" && !name.endsWith("_total")) issue("name", "a counter's name must end in _total");
  if (m.type === "gauge" && name.endsWith("_total")) issue("name", "only counters end in _total");
  const opts = {
    labels: m.label ? [m.label.name] : [],
    source: `${command} ${m.path}${m.scale === 1 ? "" : ` × ${m.scale}`} (guest.custom)`,
  };
  const help = m.help ?? `${command} ${m.path}`;
  return {
    spec: m.type === "counter" ? counter(name, help, opts) : gauge(name, help, opts),
    path: typeof path === "string" ? { text: m.path, to: [], inItem: null } : path,
    label: m.label ? { name: m.label.name, field: m.label.path } : null,
    sum: m.sum,
    scale: m.scale,
  };
}

/** `guest.custom` in the agent's config file: a list of commands, validated as a whole. */
export const customCommandsSchema = z
  .array(commandSchema)
  .max(CustomLimits.commands)
  .default([])
  .transform((list, ctx): CustomCommand[] => {
    const names = new Set<string>();
    return list.map((c, i) => {
      if (WRITING_COMMAND.test(c.command))
        ctx.addIssue({
          code: "custom",
          message: `${c.command} changes the guest or the channel; the guest view only reads`,
          path: [i, "command"],
        });
      const metrics = c.metrics.map((m, j) => {
        const metric = toMetric(c.command, m, ctx, [i, "metrics", j]);
        if (names.has(metric.spec.name))
          ctx.addIssue({ code: "custom", message: "declared twice", path: [i, "metrics", j, "name"] });
        names.add(metric.spec.name);
        return metric;
      });
      return { command: c.command, arguments: c.arguments, tier: c.tier, metrics };
    });
  });

/** The metric families the declared commands make, for the catalog (declared once at start-up). */
export function customMetricSpecs(commands: readonly CustomCommand[]): MetricSpec[] {
  return commands.flatMap((c) => c.metrics.map((m) => m.spec));
}
