# Sourced by bin/kvmon and scripts/*: sets KVMON_NODE to a Node >= 22.18 and puts it first on PATH.
# Order: .tools/node (installed by scripts/setup.sh), then the node on PATH when recent enough.
_kvmon_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
_kvmon_node_ok() { # $1 = node binary; true when it is >= 22.18 (type stripping on by default)
  # --version starts no isolate, and NODE_OPTIONS (e.g. --trace-gc, which prints) must not spoil the answer.
  local v; v="$(NODE_OPTIONS='' "$1" --version 2>/dev/null)" || return 1; v="${v#v}"
  local major="${v%%.*}" rest="${v#*.}"; local minor="${rest%%.*}"
  [ "$major" -gt 22 ] || { [ "$major" -eq 22 ] && [ "$minor" -ge 18 ]; }
}
if [ -x "$_kvmon_root/.tools/node/bin/node" ] && _kvmon_node_ok "$_kvmon_root/.tools/node/bin/node"; then
  KVMON_NODE="$_kvmon_root/.tools/node/bin/node"
elif command -v node >/dev/null 2>&1 && _kvmon_node_ok "$(command -v node)"; then
  KVMON_NODE="$(command -v node)"
else
  echo "kvmon: needs Node >= 22.18; run 'bash scripts/setup.sh' to install Node 24 into .tools/node" >&2
  exit 1
fi
export KVMON_NODE
export PATH="$(dirname "$KVMON_NODE"):$_kvmon_root/node_modules/.bin:$PATH"
