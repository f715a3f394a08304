/**
 * The text files of the guest image: busybox init's inittab, the one-time setup script, the qemu-ga runner,
 * and the workload helper the host drives through guest-exec. Pure functions of their inputs, so the image
 * hash changes exactly when one of them changes.
 */
import { GUEST_DATA_MOUNT } from "./config.ts";

export const GUEST_AGENT_PORT = "org.qemu.guest_agent.0";
/** Where workload.ts finds the helper inside the guest. */
export const GUEST_LOAD_TOOL = "/usr/bin/kvmon-load";
/** The marker rcS prints on the serial console when setup is done (the console log shows how far boot got). */
export const GUEST_READY_LINE = "kvmon-lab: ready";

const PATH_LINE = "export PATH=/sbin:/bin:/usr/sbin:/usr/bin";

/** busybox init: setup once, qemu-ga and a root shell on the serial console kept alive. */
export function inittab(): string {
  return [
    "# kvmon lab guest (busybox init)",
    "::sysinit:/etc/init.d/rcS",
    "::respawn:/etc/init.d/qemu-ga",
    // A shell with ttyS0 as controlling terminal (job control works), for `virsh console`.
    "ttyS0::respawn:-/bin/sh",
    "::ctrlaltdel:/sbin/reboot",
    "::shutdown:/bin/sync",
    `::shutdown:/bin/umount -r ${GUEST_DATA_MOUNT}`,
    "",
  ].join("\n");
}

/** The one-time setup: filesystems, modules in dependency order, virtio-ports links, data disk, links up. */
export function rcS(modules: readonly string[]): string {
  return `#!/bin/sh
# kvmon lab guest setup, run once by busybox init before qemu-ga and the console shell.
${PATH_LINE}
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs tmpfs /tmp
for arg in $(cat /proc/cmdline); do
  case "$arg" in kvmon.hostname=*) hostname "\${arg#kvmon.hostname=}" ;; esac
done
# Debian builds virtio and ext4 as modules; no udev or modprobe here, so load them in dependency order.
for m in ${modules.join(" ")}; do
  insmod "/lib/modules/$m.ko" || echo "kvmon-lab: insmod $m failed"
done
# Without udev nothing creates /dev/virtio-ports/<name>; qemu-ga opens the port by that name.
mkdir -p /dev/virtio-ports
for p in /sys/class/virtio-ports/*; do
  [ -r "$p/name" ] && ln -sf "../\${p##*/}" "/dev/virtio-ports/$(cat "$p/name")"
done
# The ext4 data disk, so guest-get-fsinfo reports a real block-backed filesystem.
mkdir -p ${GUEST_DATA_MOUNT}
i=0
while [ ! -b /dev/vda ] && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
mount -t ext4 -o noatime /dev/vda ${GUEST_DATA_MOUNT} || echo "kvmon-lab: mount /dev/vda failed"
# Links up: IPv6 link-local only (no IPv4 address, no DHCP), confined to the host's tap.
ip link set lo up
ip link set eth0 up
echo "${GUEST_READY_LINE}"
`;
}

/** Runs qemu-ga in the foreground for init to respawn; the pause keeps a failing agent from spinning. */
export function qemuGaRunner(): string {
  return `#!/bin/sh
${PATH_LINE}
/usr/sbin/qemu-ga -m virtio-serial -p /dev/virtio-ports/${GUEST_AGENT_PORT} -f /run/qemu-ga.pid -t /run
echo "kvmon-lab: qemu-ga exited ($?), restarting in 2 s"
sleep 2
`;
}

export function profile(): string {
  return `${PATH_LINE}\nexport PS1='\\h:\\w# '\nexport HOME=/root\n`;
}

export function osRelease(kernelVersion: string): string {
  return [
    "ID=kvmon-lab",
    'NAME="kvmon lab guest"',
    "VERSION_ID=1",
    `PRETTY_NAME="kvmon lab guest (busybox, Debian kernel ${kernelVersion})"`,
    "",
  ].join("\n");
}

/**
 * The workload helper. Every loop is bounded: cpu workers by a timeout, disk by a size, pings by a count
 * and a deadline. Background workers get /dev/null for stdio, or qemu-ga would wait for their pipes.
 */
export function loadTool(): string {
  return `#!/bin/sh
# kvmon-load: workloads the host starts through guest-exec (src/lab/workload.ts).
${PATH_LINE}
state=/run/kvmon-load
mkdir -p "$state"
# busybox date has no %N: time with /proc/uptime (10 ms resolution).
uptime_s() { cut -d' ' -f1 /proc/uptime; }
elapsed() { awk -v a="$1" -v b="$(uptime_s)" 'BEGIN { printf "%.2f", b - a }'; }
cmd="$1"
[ $# -gt 0 ] && shift
case "$cmd" in
cpu) # cpu WORKERS SECONDS [TAG]: busy loops; TAG lets concurrent users stop only their own
  n="$1"; secs="$2"; tag="\${3:-default}"; i=0
  while [ "$i" -lt "$n" ]; do
    setsid timeout "$secs" sh -c 'while :; do :; done' </dev/null >/dev/null 2>&1 &
    echo $! >"$state/cpu.$tag.$!.pid"
    i=$((i + 1))
  done
  echo "cpu workers: $n for at most $secs s"
  ;;
disk-write) # disk-write MIB: zeros to the data disk, fsync'd before dd exits
  t0=$(uptime_s)
  timeout 600 dd if=/dev/zero of=${GUEST_DATA_MOUNT}/kvmon-load.bin bs=1M count="$1" conv=fsync 2>&1
  rc=$?
  echo "kvmon-load: seconds $(elapsed "$t0")"
  exit $rc
  ;;
disk-read) # disk-read MIB: from the block device, page cache dropped first so the reads reach the disk
  sync
  echo 3 >/proc/sys/vm/drop_caches
  t0=$(uptime_s)
  timeout 600 dd if=/dev/vda of=/dev/null bs=1M count="$1" 2>&1
  rc=$?
  echo "kvmon-load: seconds $(elapsed "$t0")"
  exit $rc
  ;;
net-out) # net-out ADDRESS COUNT SIZE SECONDS: IPv6 link-local echo requests out of eth0, next one on reply
  ping6 -q -A -I eth0 -c "$2" -s "$3" -w "$4" "$1" 2>&1
  ;;
rx-packets) # rx-packets: eth0's received packet counter
  cat /sys/class/net/eth0/statistics/rx_packets
  ;;
running) # running [TAG]: number of live cpu workers (of TAG, or all); forgets finished ones
  n=0
  for f in "$state"/cpu.\${1:-*}.*.pid; do
    [ -e "$f" ] || continue
    if kill -0 "$(cat "$f")" 2>/dev/null; then n=$((n + 1)); else rm -f "$f"; fi
  done
  echo "$n"
  ;;
stop) # stop [TAG]: ends the cpu workers of TAG, or all of them
  for f in "$state"/cpu.\${1:-*}.*.pid; do
    [ -e "$f" ] || continue
    kill "$(cat "$f")" 2>/dev/null
    rm -f "$f"
  done
  echo stopped
  ;;
*)
  echo "usage: kvmon-load cpu N SECS [TAG] | disk-write MIB | disk-read MIB | net-out ADDR COUNT SIZE SECS | rx-packets | running [TAG] | stop [TAG]" >&2
  exit 2
  ;;
esac
`;
}
