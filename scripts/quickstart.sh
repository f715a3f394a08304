#!/usr/bin/env bash
# Quick start, first command of the README: sets everything up on a fresh Debian 12 machine and runs the main
# job: a lab of real VMs (when this host has none of its own) and the kvmon agent watching them.
#   KVMON_VMS=N        lab size (default 2)
#   KVMON_NO_LAB=1     skip the lab and watch this host's own domains
#   KVMON_LISTEN=addr  agent listen address (default 127.0.0.1:9477)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
kvmon=("$root/bin/kvmon")
if [ -z "${KVMON_NO_LAB:-}" ]; then
  "${kvmon[@]}" lab up --vms "${KVMON_VMS:-2}"
  "${kvmon[@]}" lab status
fi
listen="${KVMON_LISTEN:-127.0.0.1:9477}"
cat <<MSG

kvmon agent is starting on http://$listen
  metrics:  curl -s http://$listen/metrics
  domains:  curl -s http://$listen/api/v1/domains
  health:   curl -s http://$listen/healthz
Ctrl-C stops the agent; the lab keeps running ('./bin/kvmon lab down' removes it).

MSG
exec "${kvmon[@]}" agent --listen "$listen"
