#!/usr/bin/env bash
# Measures credtrace end to end beside the floors the targets are stated against, in the
# same run: `cat` of every file (directory input) and `gzip -dc` (.tar.gz input). Each figure
# is the best of ROUNDS runs (default 5), the commands taking turns; the peak RSS is that run's.
# Every timed run starts with its input read once, untimed, so that all four are measured on
# a bundle in the page cache: a host may page out file pages it sees little used (Linux's
# DAMON reclaim does, about a minute after their last use), and a run that found part of its
# input paged out would measure the disk. The blocks each best run read from disk are shown
# (`disk`), and should be 0.
# Usage: [ROUNDS=N] benches/floors.sh [SERVICES ...]   (default: 2000 10000)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
cargo build --release --quiet --example synth
bin=${CARGO_TARGET_DIR:-target}/release
out=target/bench-data
mkdir -p "$out"
# One timed run: wall-clock seconds (to the millisecond: `/usr/bin/time` counts hundredths, a
# tenth of a 2,000-service run), peak RSS in MB and the blocks read from disk.
timed() {
  local start end m i
  start=$(date +%s%N)
  /usr/bin/time -f "%M %I" -o "$out/.t" "$@" > /dev/null 2>&1 || true
  end=$(date +%s%N)
  read -r m i < <(tail -n 1 "$out/.t")
  awk -v ns=$((end - start)) -v m="$m" -v i="$i" 'BEGIN { printf "%.3f %d %d\n", ns / 1e9, m / 1024, i }'
}
# Reads a directory's files, or a file, into the page cache.
warm() { find "$1" -type f -exec cat {} + > /dev/null; }
ROUNDS=${ROUNDS:-5}
printf '%-9s %-9s %-22s %-22s %-22s %-22s\n' services MB "cat floor (s)" "analyze dir (s, MB)" "gzip -dc floor (s)" "analyze tar.gz (s, MB)"
for n in "${@:-2000 10000}"; do
  for s in $n; do
    dir="$out/floor-$s"
    [ -f "$dir/credtrace.yaml" ] || "$bin/examples/synth" --services "$s" --out "$dir" --broken 0.02 2>/dev/null
    [ -f "$dir.tar.gz" ] || tar -C "$out" -czf "$dir.tar.gz" "floor-$s"
    mb=$(du -sm "$dir" | cut -f1)
    # the four commands take turns, ROUNDS times, and each keeps its best run: a slow spell
    # of the machine then falls on all of them alike, not on one command's block of runs
    cat_t=999999; dir_t=999999; gz_t=999999; tgz_t=999999; dir_m=0; tgz_m=0
    cat_i=0; dir_i=0; gz_i=0; tgz_i=0
    for _ in $(seq "$ROUNDS"); do
      warm "$dir"
      read -r t _ i < <(timed sh -c "find '$dir' -type f -exec cat {} + > /dev/null")
      if awk "BEGIN{exit !($t < $cat_t)}"; then cat_t=$t; cat_i=$i; fi
      warm "$dir"
      read -r t m i < <(timed "$bin/credtrace" analyze "$dir" --format json --max-total-bytes 8G --max-entry-bytes 1G)
      if awk "BEGIN{exit !($t < $dir_t)}"; then dir_t=$t; dir_m=$m; dir_i=$i; fi
      warm "$dir.tar.gz"
      read -r t _ i < <(timed sh -c "gzip -dc '$dir.tar.gz' > /dev/null")
      if awk "BEGIN{exit !($t < $gz_t)}"; then gz_t=$t; gz_i=$i; fi
      warm "$dir.tar.gz"
      read -r t m i < <(timed "$bin/credtrace" analyze "$dir.tar.gz" --format json --max-total-bytes 8G --max-entry-bytes 1G)
      if awk "BEGIN{exit !($t < $tgz_t)}"; then tgz_t=$t; tgz_m=$m; tgz_i=$i; fi
    done
    printf '%-9s %-9s %-22s %-22s %-22s %-22s\n' "$s" "$mb" "$cat_t" "$dir_t, $dir_m" "$gz_t" "$tgz_t, $tgz_m"
    echo "  disk blocks read by these runs: cat $cat_i, analyze dir $dir_i, gzip -dc $gz_i, analyze tar.gz $tgz_i"
    awk -v d="$dir_t" -v c="$cat_t" -v t="$tgz_t" -v g="$gz_t" \
      'BEGIN { printf "  directory %.2fx of cat, .tar.gz %.2fx of gzip -dc\n", d / c, t / g }'
    # every planted chain diagnosed, and nothing else, from the directory and the .tar.gz alike
    for input in "$dir" "$dir.tar.gz"; do
      "$bin/credtrace" analyze "$input" --format json --max-total-bytes 8G --max-entry-bytes 1G > "$out/.analysis.json" || true
      printf '  %s: ' "$(basename "$input")"
      "$bin/examples/synth" --check "$dir.expected.json" "$out/.analysis.json" || echo "  planted chains check FAILED"
    done
  done
done
