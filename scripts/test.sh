#!/usr/bin/env bash
# The test command (README, CI): sets up what is missing, checks lint and types, then runs every test with
# node's test runner. Integration tests share one lab, brought up once by test/global-setup.ts.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh --test-deps
source scripts/lib/node-env.sh
# Tests run the TypeScript sources; test/integration/bundle.test.ts runs the bundle that setup.sh just made.
export KVMON_FROM_SOURCE=1
echo "[test] lint (eslint), format (prettier) and types (tsc)"
eslint --max-warnings=0 .
prettier --check --log-level=warn .
tsc -p tsconfig.json
tsc -p tsconfig.web.json
echo "[test] node --test"
exec "$KVMON_NODE" --disable-warning=ExperimentalWarning --test --test-concurrency=1 \
  --test-global-setup=test/global-setup.ts --test-timeout=600000 \
  'src/**/*.test.ts' 'test/**/*.test.ts' "$@"
