# Sourced by scripts/setup.sh: the dashboard's browser bundle (src/web, src/api) in .build/web/ (scripts/build-web.ts).
_kvmon_web_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
KVMON_WEB_DIR="$_kvmon_web_root/.build/web"

# True when the dashboard is built and no source it bundles (nor the lockfile, nor the build script) is newer.
kvmon_web_current() {
  local index="$KVMON_WEB_DIR/index.html"
  [ -f "$index" ] || return 1
  [ "$_kvmon_web_root/package-lock.json" -nt "$index" ] && return 1
  [ "$_kvmon_web_root/scripts/build-web.ts" -nt "$index" ] && return 1
  [ -z "$(find "$_kvmon_web_root/src/web" "$_kvmon_web_root/src/api" "$_kvmon_web_root/src/shared" \
    "$_kvmon_web_root/src/model" -newer "$index" ! -name '*.test.ts' -print -quit)" ]
}

kvmon_web_build() {
  "${KVMON_NODE:-node}" --disable-warning=ExperimentalWarning "$_kvmon_web_root/scripts/build-web.ts"
}
