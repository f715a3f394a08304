/**
 * DOMAIN_GET_GUEST_INFO on a lab guest, with `virsh guestinfo` (libvirt's own client) as the witness: the same
 * fields with the same values, and the read-only connection refused as the guest view's docs say.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { GuestInfoType, LibvirtClient, LibvirtError } from "../../src/protocol/libvirt/index.ts";
import { guardLeaks } from "../guards.ts";
import { labGuests } from "../lab.ts";
import { virsh } from "../libvirt-helpers.ts";

const URI = "qemu:///system";
const guest = labGuests[0]!;

/** `virsh guestinfo` prints "key   : value" lines. */
function parseGuestinfo(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^(\S+)\s+: (.*)$/.exec(line);
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}

let rw: LibvirtClient;
let ro: LibvirtClient;
guardLeaks(
  async () => {
    rw = await LibvirtClient.open(URI);
    ro = await LibvirtClient.open(URI, { readOnly: true });
  },
  async () => {
    await rw.close();
    await ro.close();
  },
);

test("guestInfo(all types) has exactly virsh guestinfo's fields and values", async () => {
  const dom = await rw.lookupByName(guest);
  // Used bytes of a mounted filesystem can move between the two reads: compare the stable types first...
  const stable = GuestInfoType.OS | GuestInfoType.TIMEZONE | GuestInfoType.HOSTNAME | GuestInfoType.DISKS;
  const ours = await rw.guestInfo(dom, stable);
  const theirs = parseGuestinfo(
    await virsh(URI, "guestinfo", guest, "--os", "--timezone", "--hostname", "--disk"),
  );
  assert.deepEqual(
    new Map([...ours].map(([k, v]) => [k, v === true ? "yes" : v === false ? "no" : String(v)])),
    theirs,
  );
  assert.equal(ours.get("hostname"), guest);
  // ...then every type: the same set of field names (virsh asks for all of them by default).
  const all = await rw.guestInfo(dom);
  const allTheirs = parseGuestinfo(await virsh(URI, "guestinfo", guest));
  assert.deepEqual([...all.keys()].sort(), [...allTheirs.keys()].sort());
  for (const k of ["fs.count", "if.count", "user.count", "disk.count", "if.1.hwaddr", "fs.0.mountpoint"]) {
    assert.equal(String(all.get(k)), allTheirs.get(k), k);
  }
  assert.equal(typeof all.get("fs.0.used-bytes"), "bigint");
});

test("guestInfo on the read-only connection is refused by libvirtd", async () => {
  const dom = await ro.lookupByName(guest);
  await assert.rejects(ro.guestInfo(dom), (e: unknown) => {
    assert.ok(e instanceof LibvirtError);
    assert.match(e.message, /read only access prevents virDomainGetGuestInfo/);
    return true;
  });
});
