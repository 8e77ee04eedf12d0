#!/usr/bin/env bash
# Lighthouse performance and accessibility of the home page, the doctor search
# and one doctor's page, on a phone (Lighthouse's default: simulated slow 4G
# and a slowed CPU) and on a desktop (--preset=desktop).
#
#   benches/load/lighthouse.sh [BASE_URL] [OUT_DIR]
#       BASE_URL  a running server (default http://127.0.0.1:3400)
#       OUT_DIR   where the JSON reports go (default /tmp/lighthouse)
#
# Needs `cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install` (Lighthouse
# is one of its devDependencies) and Debian's Chromium (CHROME_PATH to change it).
# Measure a release build: a debug wasm makes the performance score meaningless.
#
# Prints one row per page and form factor: the two scores (0-100), first and
# largest contentful paint and total blocking time (ms), cumulative layout
# shift, and the ids of the accessibility audits that failed.
set -euo pipefail

BASE=${1:-http://127.0.0.1:3400}
BASE=${BASE%/}
OUT=${2:-/tmp/lighthouse}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
LIGHTHOUSE=$ROOT/end2end/node_modules/.bin/lighthouse
export CHROME_PATH=${CHROME_PATH:-/usr/bin/chromium}

[[ -x $LIGHTHOUSE ]] || { echo "no $LIGHTHOUSE: run npm install in end2end/ first" >&2; exit 1; }
mkdir -p "$OUT"

# The doctor page: the first doctor the search lists.
doctor=$(curl -fsS "$BASE/doctors" | grep -o 'href="/doctors/[0-9a-f-]\{36\}"' | head -n 1 | cut -d'"' -f2 || true)
[[ -n $doctor ]] || { echo "no doctor listed on $BASE/doctors (seed demo data?)" >&2; exit 1; }

declare -A pages=([home]=/ [search]=/doctors [doctor]=$doctor)
reports=()
for page in home search doctor; do
  for form in mobile desktop; do
    preset=()
    [[ $form == desktop ]] && preset=(--preset=desktop)
    report=$OUT/$page-$form.json
    echo "lighthouse: $page ($form) $BASE${pages[$page]}" >&2
    # A busy machine sometimes loses the trace (NO_NAVSTART): try up to three times.
    for attempt in 1 2 3; do
      "$LIGHTHOUSE" "$BASE${pages[$page]}" "${preset[@]}" --quiet \
        --only-categories=performance,accessibility \
        --chrome-flags="--headless=new --no-sandbox --disable-gpu" \
        --output=json --output-path="$report" && break
      [[ $attempt == 3 ]] && exit 1
    done
    reports+=("$report")
  done
done

# One row per report, read from the JSON Lighthouse wrote.
node - "${reports[@]}" <<'EOF'
const fs = require('fs');
const path = require('path');
const rows = [['page', 'form', 'perf', 'a11y', 'FCP ms', 'LCP ms', 'TBT ms', 'CLS', 'failing a11y audits']];
for (const file of process.argv.slice(2)) {
  const lhr = JSON.parse(fs.readFileSync(file, 'utf8'));
  const [page, form] = path.basename(file, '.json').split('-');
  const score = (id) => Math.round(lhr.categories[id].score * 100);
  const metric = (id) => lhr.audits[id].numericValue;
  // An audit fails when it was scored and did not pass (not applicable ones have no score).
  const failing = lhr.categories.accessibility.auditRefs
    .filter((ref) => lhr.audits[ref.id].score !== null && lhr.audits[ref.id].score < 1)
    .map((ref) => ref.id);
  rows.push([
    page, form, score('performance'), score('accessibility'),
    Math.round(metric('first-contentful-paint')), Math.round(metric('largest-contentful-paint')),
    Math.round(metric('total-blocking-time')), metric('cumulative-layout-shift').toFixed(3),
    failing.join(' ') || '-',
  ]);
}
const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => String(row[i]).length)));
for (const row of rows) console.log(row.map((cell, i) => String(cell).padEnd(widths[i])).join('  ').trimEnd());
EOF
echo "reports: $OUT" >&2
