# Sourced by scripts/setup.sh and bin/kvmon: the bundled plain-JavaScript build of the CLI and agent.
# One ES module made by esbuild from src/cli/main.ts with its npm dependencies inlined, so Node starts without
# the type stripper and without resolving hundreds of files (docs/agent.md#benchmarks: memory).
_kvmon_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
KVMON_BUNDLE="$_kvmon_root/.build/kvmon.mjs"

# True when the bundle exists and no source (src/**/*.ts but tests, the lockfile) is newer than it.
kvmon_bundle_current() {
  [ -f "$KVMON_BUNDLE" ] || return 1
  [ "$_kvmon_root/package-lock.json" -nt "$KVMON_BUNDLE" ] && return 1
  [ -z "$(find "$_kvmon_root/src" -name '*.ts' ! -name '*.test.ts' -newer "$KVMON_BUNDLE" -print -quit)" ]
}

# (Re)builds the bundle: whitespace and syntax minified, names kept so stack traces stay readable. The banner
# gives CommonJS packages inside the ES module (ws: require("events")) a real `require`; esbuild's own shim
# throws "Dynamic require of ... is not supported" for node builtins.
kvmon_bundle_build() {
  mkdir -p "$(dirname "$KVMON_BUNDLE")"
  "$_kvmon_root/node_modules/.bin/esbuild" "$_kvmon_root/src/cli/main.ts" --bundle --platform=node \
    --format=esm --target=node22 --minify-whitespace --minify-syntax --legal-comments=none \
    --banner:js='import { createRequire as __kvmonRequire } from "node:module"; const require = __kvmonRequire(import.meta.url);' \
    --log-level=warning --outfile="$KVMON_BUNDLE.tmp" && mv "$KVMON_BUNDLE.tmp" "$KVMON_BUNDLE"
}
