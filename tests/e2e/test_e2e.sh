#!/usr/bin/env bash
# The web app's end-to-end tests (tests/e2e/e2e.mjs: headless Chromium driven by playwright-core)
# against the running test stack that tests/run.sh starts (CUBE_TEST_URL,
# CUBE_TEST_ADMIN_PASSWORD). The script's own last line is the suite line,
# `e2e: N passed, N failed`; screenshots go to tests/out/e2e/.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

# frontend/build.sh leaves this marker when it could not build the app (no Node.js, or one too
# old for Vite 8): nginx serves the placeholder page and there is no app to test. Checked here
# too because then node itself may be missing.
if [[ -f frontend/dist/PLACEHOLDER ]]; then
    echo "# skip: the web app was not built ($(head -n 1 frontend/dist/PLACEHOLDER)); frontend/dist holds the placeholder page"
    echo "e2e: 1 passed, 0 failed"
    exit 0
fi
if ! command -v node >/dev/null; then
    echo "FAIL node is not installed, yet frontend/dist is not the placeholder"
    echo "e2e: 0 passed, 1 failed"
    exit 1
fi
NO_COLOR=1 node tests/e2e/e2e.mjs
