#!/usr/bin/env bash
# What the browser downloads to hydrate the home page (release, split build):
# the main JS and WebAssembly, the chunk loader and the home page's own chunks,
# each compressed with gzip -9. Chunks of other pages are not counted: they are
# fetched only when those pages are shown.
#
#   benches/load/payload.sh [BASE_URL]
#       BASE_URL  a running server: count the /pkg files the served home page
#                 preloads (its <link rel="modulepreload"> and <link rel="preload">),
#                 fetched from that server.
#       without   build with `cargo leptos build --release --split` (NO_BUILD=1 to
#                 skip), then read target/site: the main files named in the release
#                 hash file, the loader, and the home route's chunks from the split
#                 manifest (what the server would preload).
#
# Also prints the five largest chunks of the whole site. Environment as for any
# build: CARGO_TARGET_DIR, and wasm-opt from end2end/node_modules/.bin on PATH.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PKG=$ROOT/target/site/pkg
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
BASE=${1:-}
BASE=${BASE%/}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

files=()
if [[ -n $BASE ]]; then
  curl -fsS "$BASE/" >"$work/home.html"
  # Main module and loader (modulepreload), main wasm and chunks (preload).
  mapfile -t paths < <(grep -o '<link [^>]*>' "$work/home.html" | grep -E 'rel="(modulepreload|preload)"' |
    grep -o 'href="/pkg/[^"]*\.\(js\|wasm\)"' | cut -d'"' -f2 | sort -u)
  [[ ${#paths[@]} -gt 0 ]] || { echo "no /pkg preloads in $BASE/" >&2; exit 1; }
  for path in "${paths[@]}"; do
    curl -fsS -o "$work/${path##*/}" "$BASE$path"
    files+=("$work/${path##*/}")
  done
else
  if [[ ${NO_BUILD:-} != 1 ]]; then
    (cd "$ROOT" && cargo leptos build --release --split) >&2
  fi
  hashes=$TARGET/release/hash.txt
  [[ -f $hashes ]] || { echo "no $hashes: build with cargo leptos build --release --split" >&2; exit 1; }
  hash_of() { sed -n "s/^$1: *//p" "$hashes"; }
  files+=("$PKG/telehealth.$(hash_of js).js" "$PKG/telehealth.$(hash_of wasm).wasm")
  split=$(hash_of split)
  manifest=$PKG/__wasm_split_manifest.$(hash_of manifest).json
  [[ -n $split && -f $manifest ]] || { echo "no split manifest: not a --split build" >&2; exit 1; }
  files+=("$PKG/__wasm_split.$split.js")
  # The home route's split is named after its route type (src/routes.rs).
  mapfile -t chunks < <(python3 -c '
import json, sys
manifest = json.load(open(sys.argv[1]))
keys = [k for k in manifest if k.startswith("__home_route_view_")]
if len(keys) != 1:
    sys.exit("expected one __home_route_view_ split in the manifest, found %d" % len(keys))
for chunk in manifest[keys[0]]:
    print(chunk)
' "$manifest")
  for chunk in "${chunks[@]}"; do
    files+=("$PKG/$chunk.wasm")
  done
fi

total_raw=0
total_gz=0
printf '%-70s %10s %10s\n' file bytes gzip-9
for file in "${files[@]}"; do
  raw=$(stat -c %s "$file")
  gz=$(gzip -9 -c "$file" | wc -c)
  total_raw=$((total_raw + raw))
  total_gz=$((total_gz + gz))
  printf '%-70s %10d %10d\n' "${file##*/}" "$raw" "$gz"
done
printf '%-70s %10d %10d\n' "home page initial payload (${#files[@]} files)" "$total_raw" "$total_gz"
printf 'total: %d KB gzip (%d KB raw)\n' $((total_gz / 1024)) $((total_raw / 1024))

if [[ -z $BASE ]]; then
  echo
  echo "largest chunks of the site (loaded by the pages that use them):"
  for file in $(ls -S "$PKG" | grep -E '^(split_|chunk_).*\.wasm$' | head -n 5); do
    printf '%-70s %10d %10d\n' "$file" "$(stat -c %s "$PKG/$file")" "$(gzip -9 -c "$PKG/$file" | wc -c)"
  done
fi
