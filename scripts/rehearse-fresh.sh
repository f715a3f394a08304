#!/usr/bin/env bash
# Fresh-machine rehearsal: returns this host, as far as kvmon is concerned, to the state of a brand-new Debian 12
# machine (the kind CI may run on), then runs the README's two commands in a fresh clone, each with a time limit,
# and prints how long each took and whether the quick start served: the agent's /metrics with every lab guest, the
# dashboard (`/` 200), its printed login token (`/api/v1/session` 200) and the lab guests through the server
# (`/api/v1/domains`); and whether its Ctrl-C left nothing listening.
#
# Reset: lab domains destroyed and undefined; libvirtd and virtlogd stopped; the Debian packages that
# scripts/setup.sh and `kvmon lab up` install purged (with what apt installed for them); lab state and libvirt's
# state and caches removed; apt's lists and npm's cache emptied (unless --keep-caches); /dev/kvm back to
# root:root 0600 (no udev); tracefs unmounted (no systemd). The fresh clone has no .tools/ and no node_modules/.
# Domains that the lab did not create stop the rehearsal before anything is touched. It rehearses the last
# commit, not uncommitted changes.
#
# Usage: bash scripts/rehearse-fresh.sh --yes [--keep-caches] [--vms N] [--listen HOST:PORT]
#                                       [--server-listen HOST:PORT] [--quickstart-limit SECONDS]
#                                       [--test-limit SECONDS] [--workdir DIR]
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

yes="" keep_caches="" vms=2 listen="127.0.0.1:9477" server_listen="127.0.0.1:9478" quickstart_limit=900 test_limit=1800
workdir="/var/tmp/kvmon-rehearsal"
usage() { sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --yes) yes=1 ;;
    --keep-caches) keep_caches=1 ;;
    --vms) vms="$2"; shift ;;
    --listen) listen="$2"; shift ;;
    --server-listen) server_listen="$2"; shift ;;
    --quickstart-limit) quickstart_limit="$2"; shift ;;
    --test-limit) test_limit="$2"; shift ;;
    --workdir) workdir="$2"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "rehearse-fresh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

t0=$EPOCHREALTIME
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
say() { printf '\033[1m[rehearse %6ss]\033[0m %s\n' "$(since "$t0")" "$*"; }
die() { echo "rehearse-fresh: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (it purges packages, stops daemons and resets /dev/kvm)"
[ -n "$yes" ] || { usage; echo; die "this resets the host's libvirt, packages and caches: run it with --yes"; }

# Everything the project installs: the lab's packages (src/lab/config.ts) and the test packages (scripts/setup.sh),
# read from the sources so the lists cannot drift. A brand-new Debian 12 machine already has these base packages:
# purging them would take much of the system with them.
base_packages=" e2fsprogs openssl python3-minimal "
lab_packages=$(sed -n '/LAB_PACKAGES = \[/,/\]/p' "$repo/src/lab/config.ts" | grep -o '"[^"]*"' | tr -d '"')
test_packages=$(sed -n 's/^ *pkgs=(\(.*\))$/\1/p' "$repo/scripts/setup.sh")
[ -n "$lab_packages" ] && [ -n "$test_packages" ] || die "cannot read the package lists from the sources"
purge=()
for p in $lab_packages $test_packages; do
  case "$base_packages" in *" $p "*) ;; *) purge+=("$p") ;; esac
done

lab_marker="https://kvmon.dev/lab"
# --- 1. refuse when libvirt has domains the lab did not create --------------------------------------------------
foreign=()
for xml in /etc/libvirt/qemu/*.xml; do
  [ -e "$xml" ] || continue
  name=$(sed -n 's:.*<name>\(.*\)</name>.*:\1:p' "$xml" | head -1)
  grep -q "$lab_marker" "$xml" && [[ "$name" == kvmon-lab-* ]] || foreign+=("${name:-$xml} ($xml)")
done
if command -v virsh >/dev/null && virsh -c qemu:///system version >/dev/null 2>&1; then
  while read -r name; do
    [ -n "$name" ] || continue
    # The XML in a variable, not piped into grep -q: with pipefail, grep's early exit fails virsh with SIGPIPE.
    xml_text=$(virsh -c qemu:///system dumpxml --inactive "$name" 2>/dev/null || true)
    if [[ "$name" != kvmon-lab-* ]] || [[ "$xml_text" != *"$lab_marker"* ]]; then
      foreign+=("$name (running, transient or persistent)")
    fi
  done < <(virsh -c qemu:///system list --all --name)
fi
if [ "${#foreign[@]}" -gt 0 ]; then
  echo "rehearse-fresh: this host has libvirt domains that the kvmon lab did not create:" >&2
  printf '  %s\n' "${foreign[@]}" | sort -u >&2
  echo "Nothing was touched. The rehearsal resets libvirt; run it on a host whose only domains are the lab's." >&2
  exit 3
fi
[ -z "$(git -C "$repo" status --porcelain)" ] || say "note: uncommitted changes in $repo are not rehearsed (a fresh clone of HEAD is)"

# --- 2. reset the host --------------------------------------------------------------------------------------------
reset_start=$EPOCHREALTIME
if command -v virsh >/dev/null && virsh -c qemu:///system version >/dev/null 2>&1; then
  for name in $(virsh -c qemu:///system list --all --name); do
    virsh -q -c qemu:///system destroy "$name" >/dev/null 2>&1 || true
    virsh -q -c qemu:///system undefine --nvram "$name" >/dev/null 2>&1 || virsh -q -c qemu:///system undefine "$name" >/dev/null
    say "domain $name destroyed and undefined"
  done
fi
for d in libvirtd virtlogd; do
  if pids=$(pgrep -x "$d"); then
    kill $pids; for _ in $(seq 100); do pgrep -x "$d" >/dev/null || break; sleep 0.1; done
    pgrep -x "$d" >/dev/null && { kill -9 $(pgrep -x "$d"); sleep 0.5; }
    say "$d stopped"
  fi
done
installed=()
for p in "${purge[@]}"; do dpkg -s "$p" >/dev/null 2>&1 && installed+=("$p"); done
if [ "${#installed[@]}" -gt 0 ]; then
  say "purging ${installed[*]} and what apt installed for them"
  DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq "${installed[@]}" >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get autoremove --purge -y -qq >/dev/null
fi
rm -rf /var/lib/kvmon /var/lib/libvirt /var/cache/libvirt /etc/libvirt /run/libvirt /var/log/libvirt \
  /run/libvirtd.pid /run/virtlogd.pid
if [ -z "$keep_caches" ]; then
  apt-get clean
  rm -rf /var/lib/apt/lists/* "${HOME:-/root}/.npm/_cacache"
  say "apt lists and cache, npm cache emptied"
fi
if [ -e /dev/kvm ]; then chown root:root /dev/kvm && chmod 0600 /dev/kvm && say "/dev/kvm is root:root 0600 (no udev)"; fi
while read -r _ mnt fstype _; do
  [ "$fstype" = tracefs ] && umount "$mnt" && say "tracefs unmounted from $mnt (no systemd)"
done < <(tac /proc/mounts)
rm -rf "$workdir" && mkdir -p "$workdir"
git clone -q "$repo" "$workdir/kvmon"
clone="$workdir/kvmon"
[ ! -e "$clone/.tools" ] && [ ! -e "$clone/node_modules" ] || die "the fresh clone has .tools or node_modules"
reset_seconds=$(since "$reset_start")
say "host reset in ${reset_seconds} s; fresh clone of $(git -C "$clone" rev-parse --short HEAD) in $clone"

# --- 3. the README's first command: set up, lab, agent and server with the dashboard serving --------------------
listening() { (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null; }
for a in "$listen" "$server_listen"; do
  ! listening "$a" || die "something already listens on $a (stop it, or pass --listen / --server-listen)"
done
guests=$(seq -f "kvmon-lab-%g" 1 "$vms")
qs_log="$workdir/quickstart.log"
server_url="http://$server_listen"
say "1/2: bash scripts/quickstart.sh (limit ${quickstart_limit} s, log $qs_log)"
qs_start=$EPOCHREALTIME
# Its own session, so the whole tree (setup, lab, then the quick start it execs into) can be signalled at the end.
(cd "$clone" && KVMON_VMS="$vms" KVMON_LISTEN="$listen" KVMON_SERVER_LISTEN="$server_listen" \
  exec setsid bash scripts/quickstart.sh >"$qs_log" 2>&1) &
qs_pid=$!
# The agent serves every guest as running on /metrics.
agent_serves() {
  local metrics served=0
  metrics=$(curl -sf --max-time 5 "http://$listen/metrics" 2>/dev/null) || return 1
  for g in $guests; do grep -q "^kvmon_domain_state_info{domain=\"$g\".*state=\"running\"" <<<"$metrics" && served=$((served + 1)); done
  [ "$served" -eq "$vms" ]
}
# The dashboard answers, the login token the quick start printed opens a session, the server lists every guest.
dashboard_serves() {
  local token domains
  token=$(sed -n 's/^ *login token *\(kvmon_[A-Za-z0-9_-]*\).*/\1/p' "$qs_log" | head -1)
  [ -n "$token" ] || return 1
  [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$server_url/")" = 200 ] || return 1
  [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "authorization: Bearer $token" \
    "$server_url/api/v1/session")" = 200 ] || return 1
  domains=$(curl -sf --max-time 5 -H "authorization: Bearer $token" "$server_url/api/v1/domains") || return 1
  for g in $guests; do grep -q "\"name\":\"$g\"" <<<"$domains" || return 1; done
}
qs_result="FAIL (no /metrics with every guest within ${quickstart_limit} s)"
while kill -0 "$qs_pid" 2>/dev/null; do
  if agent_serves; then
    qs_result="FAIL (the agent serves, but no dashboard, session or lab guests via the server within ${quickstart_limit} s)"
    if dashboard_serves; then qs_result="PASS"; break; fi
  fi
  awk -v s="$(since "$qs_start")" -v l="$quickstart_limit" 'BEGIN { exit !(s > l) }' && break
  sleep 1
done
qs_seconds=$(since "$qs_start")
kill -0 "$qs_pid" 2>/dev/null || [ "$qs_result" = PASS ] || qs_result="FAIL (exited before serving; see $qs_log)"
# Stop it as an operator would (the quick start stops server and agent on SIGINT or SIGTERM; a background job
# ignores SIGINT, so TERM); the lab keeps running for the tests, as after the README's Ctrl-C. Nothing may be left
# listening.
kill -TERM -- "-$qs_pid" 2>/dev/null || true
wait "$qs_pid" 2>/dev/null || true
for a in "$listen" "$server_listen"; do
  if listening "$a" && [ "$qs_result" = PASS ]; then qs_result="FAIL (something still listens on $a after the stop)"; fi
done
say "1/2: $qs_result after ${qs_seconds} s"

# --- 4. the README's second command: the tests ------------------------------------------------------------------
test_log="$workdir/test.log"
say "2/2: bash scripts/test.sh (limit ${test_limit} s, log $test_log)"
test_start=$EPOCHREALTIME
set +e
(cd "$clone" && timeout --kill-after=30 "$test_limit" bash scripts/test.sh </dev/null >"$test_log" 2>&1)
test_rc=$?
set -e
test_seconds=$(since "$test_start")
summary=$(grep -E '^ℹ (tests|pass|fail) ' "$test_log" | awk '{printf "%s %s, ", $3, $2}' | sed 's/, $//')
if [ "$test_rc" -eq 0 ]; then test_result="PASS"; elif [ "$test_rc" -eq 124 ]; then test_result="FAIL (time limit)"; else test_result="FAIL (exit $test_rc)"; fi
say "2/2: $test_result after ${test_seconds} s: ${summary:-no test summary}"

cat <<EOF

Fresh-machine rehearsal, $(date -u +%Y-%m-%dT%H:%MZ), commit $(git -C "$clone" rev-parse --short HEAD), $vms lab guests
  host reset                      ${reset_seconds} s
  1. bash scripts/quickstart.sh   ${qs_seconds} s to /metrics and the dashboard with every lab guest: $qs_result
  2. bash scripts/test.sh         ${test_seconds} s: ${summary:-no test summary}: $test_result
Logs: $qs_log, $test_log
EOF
[ "$qs_result" = PASS ] && [ "$test_result" = PASS ]
