#!/usr/bin/env bash
# The web app's unit tests: vitest (frontend/src/**/*.test.ts[x]). Prints vitest's own report,
# then `frontend-unit: N passed, N failed` from its JSON report. A vitest that crashes, finds no
# tests or exits non-zero without a failed test counts as one failure. Needs no stack.
set -uo pipefail
cd "$(dirname "$0")/../../frontend" || exit 1

if [[ -f dist/PLACEHOLDER ]]; then
    echo "# skip: the web app was not built ($(head -n 1 dist/PLACEHOLDER)); vitest 4 needs Node.js 20.19 or newer"
    echo "frontend-unit: 1 passed, 0 failed"
    exit 0
fi
if [[ ! -x node_modules/.bin/vitest ]]; then
    echo "FAIL frontend/node_modules/.bin/vitest is missing (frontend/build.sh runs npm ci)"
    echo "frontend-unit: 0 passed, 1 failed"
    exit 1
fi

report=$(mktemp)
trap 'rm -f "$report"' EXIT
# The default reporter for people reading the log, the JSON one for the counts.
NO_COLOR=1 timeout 240 node_modules/.bin/vitest run --reporter=default --reporter=json --outputFile.json="$report" 2>&1
rc=$?
# shellcheck disable=SC2016 # JavaScript, not shell
counts=$(node -e '
    const fs = require("fs");
    let r;
    try { r = JSON.parse(fs.readFileSync(process.argv[1], "utf8")); } catch { process.exit(1); }
    // A test file that fails to load has no assertions but a failed suite: count it once.
    const broken = (r.testResults || []).filter((f) => f.status === "failed" && !(f.assertionResults || []).some((a) => a.status === "failed")).length;
    console.log(`${r.numPassedTests | 0} ${(r.numFailedTests | 0) + broken} ${r.numTotalTests | 0}`);
' "$report" 2>/dev/null) || counts=""
if [[ -z $counts ]]; then
    echo "FAIL vitest wrote no JSON report (exit $rc)"
    echo "frontend-unit: 0 passed, 1 failed"
    exit 1
fi
read -r passed failed total <<<"$counts"
if ((total == 0 && failed == 0)); then
    echo "FAIL vitest found no tests"
    failed=1
fi
if ((rc != 0 && failed == 0)); then
    echo "FAIL vitest exited with status $rc"
    failed=1
fi
echo "frontend-unit: $passed passed, $failed failed"
((failed == 0))
