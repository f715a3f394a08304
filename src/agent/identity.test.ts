import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { readHostUuid, readIdentity } from "./identity.ts";

function fakeRoot(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "kvmon-identity-"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

test("host UUID: DMI product UUID first (lower-cased), else machine-id as a UUID, else null", (t) => {
  const dmi = fakeRoot({
    "sys/class/dmi/id/product_uuid": "4C4C4544-0042-3510-8052-B4C04F4B4E32\n",
    "etc/machine-id": "0123456789abcdef0123456789abcdef\n",
  });
  const mid = fakeRoot({ "etc/machine-id": "0123456789abcdef0123456789abcdef\n" });
  const placeholder = fakeRoot({
    "sys/class/dmi/id/product_uuid": "00000000-0000-0000-0000-000000000000",
    "etc/machine-id": "0123456789abcdef0123456789abcdef",
  });
  const none = fakeRoot({ "etc/machine-id": "not an id" });
  t.after(() => [dmi, mid, placeholder, none].forEach((r) => rmSync(r, { recursive: true })));
  assert.equal(readHostUuid(dmi), "4c4c4544-0042-3510-8052-b4c04f4b4e32");
  assert.equal(readHostUuid(mid), "01234567-89ab-cdef-0123-456789abcdef");
  assert.equal(readHostUuid(placeholder), "01234567-89ab-cdef-0123-456789abcdef", "placeholder UUID skipped");
  assert.equal(readHostUuid(none), null);
  assert.equal(readIdentity(none).hostUuid, null);
  assert.ok(readIdentity(none).hostname.length > 0);
});
