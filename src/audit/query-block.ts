/**
 * QMP `query-block` through libvirt's monitor passthrough (QEMU_DOMAIN_MONITOR_COMMAND): each BlockInfo's
 * `inserted.cache` is BlockdevCacheInfo {writeback, direct, no-flush} (qapi/block-core.json, since 2.3). Only
 * this one read-only command is ever sent; libvirt still marks the domain tainted ("custom-monitor") after any
 * passthrough, which is why the CLI asks for --qmp.
 */
import { z } from "zod";
import { AuditError } from "./errors.ts";
import type { QueryBlockDisk } from "./types.ts";

export const QUERY_BLOCK = JSON.stringify({ execute: "query-block" });

const reply = z.object({
  return: z.array(
    z.object({
      device: z.string().optional(),
      qdev: z.string().optional(),
      inserted: z
        .object({
          file: z.string().optional(),
          "node-name": z.string().optional(),
          drv: z.string().optional(),
          ro: z.boolean().optional(),
          cache: z.object({ writeback: z.boolean(), direct: z.boolean(), "no-flush": z.boolean() }),
        })
        .optional(),
    }),
  ),
});

/** The disks with a medium in a query-block reply (an empty CD-ROM drive has no `inserted`). */
export function parseQueryBlock(text: string): QueryBlockDisk[] {
  let parsed;
  try {
    parsed = reply.parse(JSON.parse(text));
  } catch (e) {
    throw new AuditError(
      "AUDIT_QUERY_BLOCK",
      `query-block answered an unexpected reply: ${text.slice(0, 200)}`,
      {
        cause: e,
      },
    );
  }
  return parsed.return.flatMap((b) =>
    b.inserted
      ? [
          {
            qdev: b.qdev ?? (b.device || null),
            nodeName: b.inserted["node-name"] ?? null,
            file: b.inserted.file ?? null,
            format: b.inserted.drv ?? null,
            readOnly: b.inserted.ro ?? false,
            cache: {
              writeback: b.inserted.cache.writeback,
              direct: b.inserted.cache.direct,
              noFlush: b.inserted.cache["no-flush"],
            },
          },
        ]
      : [],
  );
}

/**
 * The entry of a device: `qdev` is the device id or its QOM path (`/machine/peripheral/<id>/virtio-backend`
 * for virtio-blk), and the node name is the device's drive when the command line is known.
 */
export function findQueryBlock(
  list: readonly QueryBlockDisk[],
  deviceId: string | null,
  nodeName: string | null,
): QueryBlockDisk | null {
  const byDevice = (q: QueryBlockDisk) =>
    deviceId !== null &&
    q.qdev !== null &&
    (q.qdev === deviceId ||
      q.qdev === `/machine/peripheral/${deviceId}` ||
      q.qdev.startsWith(`/machine/peripheral/${deviceId}/`));
  return list.find(byDevice) ?? list.find((q) => nodeName !== null && q.nodeName === nodeName) ?? null;
}
