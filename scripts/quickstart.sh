#!/usr/bin/env bash
# Quick start, first command of the README: sets everything up on a fresh Debian 12 machine and runs the fleet on
# this host in the foreground: a lab of real VMs (when this host has none of its own), then `kvmon quickstart`:
# the kvmon server with the web dashboard and the agent pushing to it. It prints the dashboard URL, the login
# token, the agent's /metrics URL; Ctrl-C stops server and agent, the lab keeps running.
#   KVMON_VMS=N                lab size (default 2)
#   KVMON_NO_LAB=1             skip the lab and watch this host's own domains
#   KVMON_SERVER_LISTEN=addr   server and dashboard address (default 0.0.0.0:9478)
#   KVMON_LISTEN=addr          agent address (default 127.0.0.1:9477)
#   KVMON_DATA_DIR=dir         tokens, state and samples (default /var/lib/kvmon, as a real install)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
kvmon=("$root/bin/kvmon")
if [ -z "${KVMON_NO_LAB:-}" ]; then
  "${kvmon[@]}" lab up --vms "${KVMON_VMS:-2}"
  "${kvmon[@]}" lab status
fi
exec "${kvmon[@]}" quickstart --listen "${KVMON_SERVER_LISTEN:-0.0.0.0:9478}" \
  --agent-listen "${KVMON_LISTEN:-127.0.0.1:9477}" --data-dir "${KVMON_DATA_DIR:-/var/lib/kvmon}"
