import assert from "node:assert/strict";
import { test } from "node:test";
import { UriError } from "./errors.ts";
import { parseLibvirtUri } from "./uri.ts";

const none = { exists: () => false };
const modular = { exists: (p: string) => p.includes("virtqemud") };

test("local URIs: unix transport, name without client params, legacy vs modular socket", () => {
  assert.deepEqual(parseLibvirtUri("qemu:///system", none), {
    driver: "qemu",
    transport: "unix",
    name: "qemu:///system",
    readOnly: false,
    socketPath: "/var/run/libvirt/libvirt-sock",
  });
  assert.equal(parseLibvirtUri("qemu:///system", modular).socketPath, "/var/run/libvirt/virtqemud-sock");
  assert.equal(
    parseLibvirtUri("qemu:///system", { ...modular, readOnly: true }).socketPath,
    "/var/run/libvirt/virtqemud-sock-ro",
  );
  assert.equal(
    parseLibvirtUri("qemu:///system?mode=legacy", modular).socketPath,
    "/var/run/libvirt/libvirt-sock",
  );
  const ro = parseLibvirtUri("qemu:///system?readonly", none);
  assert.equal(ro.readOnly, true);
  assert.equal(ro.socketPath, "/var/run/libvirt/libvirt-sock-ro");
  assert.equal(ro.name, "qemu:///system");
  assert.equal(parseLibvirtUri("qemu:///system?readonly=0", none).readOnly, false);
});

test("explicit socket, test driver, forwarded params", () => {
  const u = parseLibvirtUri("qemu+unix:///system?socket=/tmp/s&foo=bar", none);
  assert.equal(u.socketPath, "/tmp/s");
  assert.equal(u.name, "qemu:///system?foo=bar");
  const t = parseLibvirtUri("test+unix:///default", modular);
  assert.equal(t.name, "test:///default");
  assert.equal(t.socketPath, "/var/run/libvirt/libvirt-sock");
  assert.equal(parseLibvirtUri("test:///default", none).transport, "unix");
});

test("remote URIs: tcp and tls with default ports; host defaults to tls", () => {
  const tcp = parseLibvirtUri("qemu+tcp://host1/system");
  assert.deepEqual([tcp.transport, tcp.host, tcp.port, tcp.name], ["tcp", "host1", 16509, "qemu:///system"]);
  const tls = parseLibvirtUri("qemu://host2:1234/system?no_verify=1&pkipath=/pki");
  assert.deepEqual([tls.transport, tls.host, tls.port, tls.name], ["tls", "host2", 1234, "qemu:///system"]);
  assert.deepEqual(tls.tls, {
    ca: "/pki/cacert.pem",
    cert: "/pki/clientcert.pem",
    key: "/pki/clientkey.pem",
    noVerify: true,
  });
  assert.equal(parseLibvirtUri("qemu+tls://[::1]/system").host, "::1");
});

test("unsupported or malformed URIs throw UriError", () => {
  assert.throws(() => parseLibvirtUri("qemu+ssh://h/system"), UriError);
  assert.throws(() => parseLibvirtUri("not a uri"), UriError);
  assert.throws(() => parseLibvirtUri("qemu+tcp:///system"), /needs a host/);
  assert.throws(() => parseLibvirtUri("qemu+unix://h/system"), /cannot name a host/);
});
