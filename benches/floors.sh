#!/usr/bin/env bash
# Measures credtrace end to end beside the floors the targets are stated against, in the
# same run: `cat` of every file (directory input) and `gzip -dc` (.tar.gz input).
# Usage: benches/floors.sh [SERVICES ...]   (default: 2000 10000)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
cargo build --release --quiet --example synth
bin=${CARGO_TARGET_DIR:-target}/release
out=target/bench-data
mkdir -p "$out"
best() { # best of 3 wall-clock seconds, and the peak RSS in MB of that run
  local best_t=999999 best_m=0
  for _ in 1 2 3; do
    /usr/bin/time -f "%e %M" -o "$out/.t" "$@" > /dev/null 2>&1 || true
    read -r t m < <(tail -n 1 "$out/.t")
    if awk "BEGIN{exit !($t < $best_t)}"; then best_t=$t; best_m=$((m / 1024)); fi
  done
  echo "$best_t $best_m"
}
printf '%-9s %-9s %-22s %-22s %-22s %-22s\n' services MB "cat floor (s)" "analyze dir (s, MB)" "gzip -dc floor (s)" "analyze tar.gz (s, MB)"
for n in "${@:-2000 10000}"; do
  for s in $n; do
    dir="$out/floor-$s"
    [ -f "$dir/credtrace.yaml" ] || "$bin/examples/synth" --services "$s" --out "$dir" --broken 0.02 2>/dev/null
    [ -f "$dir.tar.gz" ] || tar -C "$out" -czf "$dir.tar.gz" "floor-$s"
    mb=$(du -sm "$dir" | cut -f1)
    read -r cat_t _ < <(best sh -c "find '$dir' -type f -exec cat {} + > /dev/null")
    read -r dir_t dir_m < <(best "$bin/credtrace" analyze "$dir" --format json --max-total-bytes 8G --max-entry-bytes 1G)
    read -r gz_t _ < <(best sh -c "gzip -dc '$dir.tar.gz' > /dev/null")
    read -r tgz_t tgz_m < <(best "$bin/credtrace" analyze "$dir.tar.gz" --format json --max-total-bytes 8G --max-entry-bytes 1G)
    printf '%-9s %-9s %-22s %-22s %-22s %-22s\n' "$s" "$mb" "$cat_t" "$dir_t, $dir_m" "$gz_t" "$tgz_t, $tgz_m"
    # every planted chain diagnosed, and nothing else, from the directory and the .tar.gz alike
    for input in "$dir" "$dir.tar.gz"; do
      "$bin/credtrace" analyze "$input" --format json --max-total-bytes 8G --max-entry-bytes 1G > "$out/.analysis.json" || true
      printf '  %s: ' "$(basename "$input")"
      "$bin/examples/synth" --check "$dir.expected.json" "$out/.analysis.json" || echo "  planted chains check FAILED"
    done
  done
done
