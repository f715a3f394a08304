import assert from "node:assert/strict";
import { test } from "node:test";
import { libvirtdConfPath, listeningIpv4 } from "./daemons.ts";

test("listeningIpv4: LISTEN sockets of /proc/net/tcp, little-endian addresses, other states ignored", () => {
  const text = [
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
    "   0: 0100007F:407D 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0",
    "   1: 0100007F:4082 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0",
    "   2: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3 1 0 100 0 0 10 0",
    "   3: 0100007F:9C4A 0100007F:407D 01 00000000:00000000 00:00000000 00000000     0        0 4 1 0 20 4 30 10 -1",
    "",
  ].join("\n");
  assert.deepEqual([...listeningIpv4(text)], ["127.0.0.1:16509", "127.0.0.1:16514", "0.0.0.0:2024"]);
  assert.deepEqual([...listeningIpv4("")], []);
});

test("libvirtdConfPath: the lab's libvirtd.conf lives in the lab dir", () => {
  assert.equal(libvirtdConfPath("/var/lib/kvmon/lab"), "/var/lib/kvmon/lab/libvirtd.conf");
});
