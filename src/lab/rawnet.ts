/**
 * Host -> guest network load as raw Ethernet frames written to the guest's tap with an AF_PACKET socket.
 * Node has no AF_PACKET, so Debian's /usr/bin/python3 does the sending (the python3 first on PATH may be a
 * different build). No IP at all: the frames carry the IEEE "local experimental" EtherType 0x88B5, are
 * addressed to the guest's MAC, and exist only on the tap (it is not bridged anywhere).
 */
import { LabError } from "./errors.ts";
import { run } from "./exec.ts";

export const PYTHON = "/usr/bin/python3";
export const LOCAL_EXPERIMENTAL_ETHERTYPE = 0x88b5;

/** Bounded by count and by time; prints the number of frames sent. */
const SENDER = `
import socket, sys, time
iface, dst, count, size, secs, ethertype = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
with open("/sys/class/net/%s/address" % iface) as f:
    src = f.read().strip()
frame = bytes.fromhex(dst.replace(":", "")) + bytes.fromhex(src.replace(":", "")) + ethertype.to_bytes(2, "big")
frame += bytes(max(0, size - len(frame)))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((iface, 0))
sent, deadline = 0, time.monotonic() + secs
while sent < count and time.monotonic() < deadline:
    s.send(frame)
    sent += 1
print(sent)
`;

export interface FrameBurst {
  /** Host tap device of the guest's NIC, e.g. vnet0. */
  tap: string;
  /** Destination MAC: the guest's NIC. */
  dstMac: string;
  frames: number;
  /** Frame size in bytes without FCS (60..1514). */
  size: number;
  seconds: number;
}

export function validateBurst(b: FrameBurst): void {
  if (!/^[a-zA-Z0-9_.-]{1,15}$/.test(b.tap)) throw new LabError(`bad tap name '${b.tap}'`);
  if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(b.dstMac)) throw new LabError(`bad MAC '${b.dstMac}'`);
  if (!Number.isInteger(b.frames) || b.frames < 1 || b.frames > 1_000_000) {
    throw new LabError(`frames must be 1..1000000, got ${b.frames}`);
  }
  if (!Number.isInteger(b.size) || b.size < 60 || b.size > 1514)
    throw new LabError(`size must be 60..1514, got ${b.size}`);
  if (!(b.seconds > 0 && b.seconds <= 600))
    throw new LabError(`seconds must be in (0, 600], got ${b.seconds}`);
}

/** Sends the burst; resolves with the number of frames actually written. */
export async function sendFrames(b: FrameBurst): Promise<number> {
  validateBurst(b);
  const { stdout } = await run(
    PYTHON,
    [
      "-c",
      SENDER,
      b.tap,
      b.dstMac,
      String(b.frames),
      String(b.size),
      String(b.seconds),
      String(LOCAL_EXPERIMENTAL_ETHERTYPE),
    ],
    {
      timeoutMs: (b.seconds + 30) * 1000,
      hint: "needs Debian's /usr/bin/python3 (package python3-minimal) and root",
    },
  );
  const sent = Number(stdout.trim());
  if (!Number.isInteger(sent))
    throw new LabError(`frame sender printed '${stdout.trim()}' instead of a count`);
  return sent;
}
