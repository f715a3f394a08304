/**
 * The model as a runtime schema (zod), for where a snapshot crosses a process boundary: the agent's JSON API
 * (checked in tests), and later the fleet server's ingest. The TypeScript types in types.ts stay the source of
 * truth; each schema is declared `z.ZodType<TheType>`, so tsc fails when the two drift apart.
 * parseSnapshot() turns a zod failure into a SchemaError whose message names the path of every bad field.
 */
import { z } from "zod";
import { SchemaError } from "./errors.ts";
import { guestSampleSchema } from "./guest-schema.ts";
import { ALL_STATE_NAMES } from "./state.ts";
import {
  type AgentIdentity,
  type BlockSample,
  type CollectorRun,
  type CounterValue,
  type DomainMetadata,
  type DomainSample,
  type HostSample,
  type InterfaceSample,
  type KvmSample,
  type KvmStatSet,
  type MemorySample,
  SNAPSHOT_SCHEMA_VERSION,
  type Snapshot,
  type SourceStatus,
  type VcpuSample,
} from "./types.ts";

const num = z.number();
const nullableNum = num.nullable();
const str = z.string();
const nullableStr = str.nullable();

export const counterValueSchema: z.ZodType<CounterValue> = z.object({ total: num, perSecond: nullableNum });
const nullableCounter = counterValueSchema.nullable();

const stateNameSchema = z.enum(ALL_STATE_NAMES);

const stateSchema = z.object({
  state: stateNameSchema,
  code: num,
  reason: str,
  reasonCode: num,
  active: z.boolean(),
  uptimeSeconds: nullableNum,
});

const cpuSchema = z.object({
  timeSeconds: counterValueSchema,
  userSeconds: nullableCounter,
  systemSeconds: nullableCounter,
  hostCpuRatio: nullableNum,
  vcpuRatio: nullableNum,
});

const vcpusSchema: z.ZodType<VcpuSample> = z.object({
  current: num,
  maximum: num,
  list: z.array(
    z.object({
      index: num,
      state: nullableNum,
      timeSeconds: nullableCounter,
      waitSeconds: nullableCounter,
      delaySeconds: nullableCounter,
      halted: z.boolean().nullable(),
    }),
  ),
});

const memorySchema: z.ZodType<MemorySample> = z.object({
  currentBytes: num,
  maximumBytes: num,
  rssBytes: nullableNum,
  unusedBytes: nullableNum,
  availableBytes: nullableNum,
  usableBytes: nullableNum,
  diskCachesBytes: nullableNum,
  usedBytes: nullableNum,
  usedFormula: z.enum(["available-usable", "available-unused-caches", "available-unused"]).nullable(),
  swapInBytes: nullableCounter,
  swapOutBytes: nullableCounter,
  majorFaults: nullableCounter,
  minorFaults: nullableCounter,
  balloonLastUpdate: nullableNum,
});

const blockSchema: z.ZodType<BlockSample> = z.object({
  name: str,
  path: nullableStr,
  readBytes: nullableCounter,
  writeBytes: nullableCounter,
  readRequests: nullableCounter,
  writeRequests: nullableCounter,
  flushRequests: nullableCounter,
  readTimeSeconds: nullableCounter,
  writeTimeSeconds: nullableCounter,
  flushTimeSeconds: nullableCounter,
  readLatencySeconds: nullableNum,
  writeLatencySeconds: nullableNum,
  flushLatencySeconds: nullableNum,
  capacityBytes: nullableNum,
  allocationBytes: nullableNum,
  physicalBytes: nullableNum,
});

const interfaceSchema: z.ZodType<InterfaceSample> = z.object({
  name: str,
  mac: nullableStr,
  rxBytes: nullableCounter,
  rxPackets: nullableCounter,
  rxErrors: nullableCounter,
  rxDrops: nullableCounter,
  txBytes: nullableCounter,
  txPackets: nullableCounter,
  txErrors: nullableCounter,
  txDrops: nullableCounter,
});

const kvmStatSetSchema: z.ZodType<KvmStatSet> = z.object({
  counters: z.record(str, counterValueSchema),
  current: z.record(str, num),
  peak: z.record(str, num),
});

const kvmSchema: z.ZodType<KvmSample> = z.object({
  vcpus: z.array(z.intersection(kvmStatSetSchema, z.object({ index: num }))),
  totals: z.record(str, counterValueSchema),
  vm: kvmStatSetSchema,
});

const metadataSchema: z.ZodType<DomainMetadata> = z.object({
  title: nullableStr,
  disks: z.array(
    z.object({
      target: str,
      bus: nullableStr,
      device: nullableStr,
      type: nullableStr,
      source: nullableStr,
      format: nullableStr,
      cache: nullableStr,
      io: nullableStr,
      serial: nullableStr,
    }),
  ),
  interfaces: z.array(
    z.object({
      mac: nullableStr,
      model: nullableStr,
      type: nullableStr,
      bridge: nullableStr,
      network: nullableStr,
      targetDev: nullableStr,
    }),
  ),
  nova: z
    .object({
      instanceName: nullableStr,
      projectName: nullableStr,
      projectUuid: nullableStr,
      userName: nullableStr,
      userUuid: nullableStr,
      flavorName: nullableStr,
      flavorVcpus: nullableNum,
      flavorMemoryMiB: nullableNum,
      flavorDiskGiB: nullableNum,
      creationTime: nullableStr,
    })
    .nullable(),
  fetchedAt: num,
});

export const domainSampleSchema: z.ZodType<DomainSample> = z.object({
  source: z.literal("socket").optional(),
  name: str,
  uuid: str,
  id: num,
  sampledAt: num,
  elapsedSeconds: nullableNum,
  stats: z.object({
    status: z.enum(["ok", "partial", "missing"]),
    skippedTotal: num,
    lastCompleteAt: nullableNum,
  }),
  state: stateSchema.nullable(),
  cpu: cpuSchema.nullable(),
  vcpus: vcpusSchema.nullable(),
  memory: memorySchema.nullable(),
  block: z.array(blockSchema).nullable(),
  interfaces: z.array(interfaceSchema).nullable(),
  kvm: kvmSchema.nullable(),
  metadata: metadataSchema.nullable(),
  guest: guestSampleSchema(counterValueSchema).nullable(),
  trace: z.object({ sampledAt: num }).nullable(),
});

export const hostSampleSchema: z.ZodType<HostSample> = z.object({
  hostname: nullableStr,
  libvirtVersion: nullableStr,
  hypervisorVersion: nullableStr,
  node: z
    .object({
      model: str,
      memoryBytes: num,
      cpus: num,
      mhz: num,
      nodes: num,
      sockets: num,
      cores: num,
      threads: num,
    })
    .nullable(),
  infoFetchedAt: nullableNum,
  domainsByState: z.record(stateNameSchema, num),
  domainsTotal: num,
  // Defaults to null: a snapshot from an agent older than the host-usage collector still parses.
  usage: z
    .object({
      sampledAt: num,
      cpuSeconds: z.record(str, counterValueSchema),
      cpuRatio: nullableNum,
      memory: z
        .object({
          totalBytes: num,
          freeBytes: num,
          buffersBytes: nullableNum,
          cachedBytes: nullableNum,
          usedBytes: num,
        })
        .nullable(),
    })
    .nullable()
    .default(null),
});

const collectorRunSchema: z.ZodType<CollectorRun> = z.object({
  name: str,
  durationSeconds: num,
  success: z.boolean(),
  failedDomains: num,
  error: nullableStr,
});

const sourceStatusSchema: z.ZodType<SourceStatus> = z.object({
  name: str,
  calls: num,
  failures: num,
  timeouts: num,
  lateDiscards: num,
  inFlight: num,
  backingOff: num,
  lastSuccessAt: nullableNum,
  lastError: nullableStr,
});

const identitySchema: z.ZodType<AgentIdentity> = z.object({ hostname: str, hostUuid: nullableStr });

export const snapshotSchema: z.ZodType<Snapshot> = z.object({
  schemaVersion: z.literal(SNAPSHOT_SCHEMA_VERSION),
  agent: identitySchema,
  startedAt: num,
  finishedAt: num,
  host: hostSampleSchema,
  domains: z.array(domainSampleSchema),
  collectors: z.array(collectorRunSchema),
  sources: z.array(sourceStatusSchema),
});

/** `what` names the document in the error ("snapshot", "GET /api/v1/domains"). */
export function parseWith<T>(schema: z.ZodType<T>, data: unknown, what: string): T {
  const r = schema.safeParse(data);
  if (r.success) return r.data;
  const problems = r.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`);
  throw new SchemaError(what, problems, { cause: r.error });
}

export function parseSnapshot(data: unknown): Snapshot {
  return parseWith(snapshotSchema, data, "snapshot");
}

/** `["domains", 0, "cpu"]` -> `domains[0].cpu` (the root itself is `(root)`). */
function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return "(root)";
  return path
    .map((p, i) => (typeof p === "number" ? `[${p}]` : `${i === 0 ? "" : "."}${String(p)}`))
    .join("");
}
