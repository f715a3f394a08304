#!/usr/bin/env bash
# The lab-free tests (`npm run test:unit`): the unit tests beside the code and the lint-rule tests in test/lint.
# No root, no lab, no network; needs Node >= 22.18 (`bash scripts/setup.sh` installs Node 24 and the npm packages).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib/node-env.sh
exec "$KVMON_NODE" --disable-warning=ExperimentalWarning --test --test-concurrency=1 \
  'src/**/*.test.ts' 'test/lint/*.test.ts' "$@"
