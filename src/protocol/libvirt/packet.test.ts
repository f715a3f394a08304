import assert from "node:assert/strict";
import { test } from "node:test";
import { XdrReader } from "../xdr/reader.ts";
import { decodePacket, encodePacket, encodeRawPacket, PacketStatus, PacketType, Program } from "./packet.ts";
import { P } from "./procedures.ts";
import { remoteError, toLibvirtError } from "./remote-error.ts";

/** Bytes from a commented hex listing: everything after `#` on a line is a comment. */
function bytes(listing: string): Buffer {
  return Buffer.from(
    listing
      .split("\n")
      .map((l) => l.replace(/#.*/, ""))
      .join("")
      .replace(/\s+/g, ""),
    "hex",
  );
}

// libvirt tests/virnetmessagetest.c, testMessageHeaderEncode: an empty CALL.
const GOLDEN_HEADER = bytes(`
  0000001c  # length 28: the length word counts itself
  11223344  # program
  00000001  # version
  00000666  # procedure
  00000000  # type CALL
  00000099  # serial
  00000000  # status OK
`);

// libvirt tests/virnetmessagetest.c, testMessagePayloadEncode: a MESSAGE carrying remote_error, 0x74 bytes.
const GOLDEN_ERROR = bytes(`
  00000074  # length 116
  11223344  # program
  00000001  # version
  00000666  # procedure
  00000002  # type MESSAGE
  00000099  # serial
  00000001  # status ERROR
  00000001  # code VIR_ERR_INTERNAL_ERROR
  00000007  # domain VIR_FROM_RPC
  00000001  # message: present
  0000000b  #   length 11
  48656c6c 6f20576f 726c6400  # "Hello World" + 1 pad byte
  00000002  # level VIR_ERR_ERROR
  00000000  # dom: absent
  00000001 00000003 4f6e6500  # str1 "One" + pad
  00000001 00000003 54776f00  # str2 "Two" + pad
  00000001 00000005 54687265 65000000  # str3 "Three" + 3 pad
  00000001  # int1
  00000002  # int2
  00000000  # net: absent
`);

// libvirt tests/virnetmessagetest.c, testMessagePayloadStream: raw bytes, no length prefix, no padding.
const FOX = "The quick brown fox jumps over the lazy dog";
const GOLDEN_STREAM = Buffer.concat([
  bytes(`
  00000047  # length 71 = 28 + 43 raw bytes
  11223344  # program
  00000001  # version
  00000666  # procedure
  00000003  # type STREAM
  00000099  # serial
  00000002  # status CONTINUE
`),
  Buffer.from(FOX),
]);

const h = { program: 0x11223344, version: 1, procedure: 0x666, serial: 0x99 };

test("golden header packet (virnetmessagetest)", () => {
  assert.deepEqual(encodePacket({ ...h, type: PacketType.CALL, status: PacketStatus.OK }), GOLDEN_HEADER);
  const p = decodePacket(GOLDEN_HEADER);
  assert.deepEqual(p.header, { ...h, type: 0, status: 0 });
  assert.equal(p.body.length, 0);
});

test("golden error packet encodes byte-exact and decodes to a LibvirtError", () => {
  const fields = {
    code: 1,
    domain: 7,
    message: "Hello World",
    level: 2,
    dom: null,
    str1: "One",
    str2: "Two",
    str3: "Three",
    int1: 1,
    int2: 2,
    net: null,
  };
  assert.equal(GOLDEN_ERROR.length, 0x74);
  assert.deepEqual(
    encodePacket({ ...h, type: PacketType.MESSAGE, status: PacketStatus.ERROR }, remoteError, fields),
    GOLDEN_ERROR,
  );
  const p = decodePacket(GOLDEN_ERROR);
  const e = toLibvirtError(remoteError.decode(new XdrReader(p.body)), "X");
  assert.equal(e.message, "Hello World");
  assert.deepEqual(
    [e.libvirtCode, e.domain, e.level, e.str1, e.str2, e.str3, e.int1, e.int2],
    [1, 7, 2, "One", "Two", "Three", 1, 2],
  );
  assert.equal(e.procedure, "X");
});

test("remote_error without a message still decodes (message is optional)", () => {
  const body = bytes(`
    0000002a  # code NO_DOMAIN (42)
    0000000a  # domain QEMU
    00000000  # message: absent
    00000002  # level
    00000000 00000000 00000000 00000000  # dom, str1, str2, str3: absent
    ffffffff ffffffff  # int1, int2 = -1
    00000000  # net: absent
  `);
  const e = toLibvirtError(remoteError.decode(new XdrReader(body)));
  assert.equal(e.message, "libvirt error code 42");
  assert.ok(e.isNoDomain());
  assert.equal(e.str1, null);
});

test("golden stream packet", () => {
  assert.deepEqual(
    encodeRawPacket({ ...h, type: PacketType.STREAM, status: PacketStatus.CONTINUE }, Buffer.from(FOX)),
    GOLDEN_STREAM,
  );
  const p = decodePacket(GOLDEN_STREAM);
  assert.equal(p.body.toString(), FOX);
});

test("CONNECT_OPEN qemu:///system is the documented 56-byte packet", () => {
  const pkt = encodePacket(
    { program: Program.REMOTE, version: 1, procedure: 1, type: 0, serial: 1, status: 0 },
    P.CONNECT_OPEN.args,
    { name: "qemu:///system", flags: 0 },
  );
  assert.deepEqual(
    pkt,
    bytes(`
      00000038  # length 56
      20008086  # program REMOTE
      00000001  # version
      00000001  # procedure CONNECT_OPEN
      00000000  # type CALL
      00000001  # serial 1
      00000000  # status OK
      00000001  # name: present
      0000000e  #   length 14
      71656d75 3a2f2f2f 73797374 656d0000  # "qemu:///system" + 2 pad
      00000000  # flags
    `),
  );
});

test("decodePacket rejects short buffers and a lying length word", () => {
  assert.throws(() => decodePacket(Buffer.alloc(27)), /shorter than a header/);
  const bad = Buffer.from(GOLDEN_HEADER);
  bad.writeUInt32BE(40, 0);
  assert.throws(() => decodePacket(bad), /length word/);
});
