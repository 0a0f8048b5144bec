#!/usr/bin/env bash
# Measures credtrace end to end beside the floors the targets are stated against, in the
# same run: `cat` of every file (directory input) and `gzip -dc` (.tar.gz input). Each figure
# is the best of ROUNDS runs (default 5), the commands and the sizes taking turns; the peak RSS
# is that run's.
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
# One timed run of command NAME (the rest of the arguments) on INPUT, read once before it:
# NAME keeps its best run's seconds, peak RSS and disk blocks.
declare -A best_t best_m best_i
run() {
  local name=$1 input=$2 t m i
  shift 2
  warm "$input"
  read -r t m i < <(timed "$@")
  if awk "BEGIN{exit !($t < ${best_t[$name]})}"; then
    best_t[$name]=$t best_m[$name]=$m best_i[$name]=$i
  fi
}
ROUNDS=${ROUNDS:-5}
read -r -a sizes <<< "${*:-2000 10000}"
for s in "${sizes[@]}"; do
  dir="$out/floor-$s"
  [ -f "$dir/credtrace.yaml" ] || "$bin/examples/synth" --services "$s" --out "$dir" --broken 0.02 2>/dev/null
  [ -f "$dir.tar.gz" ] || tar -C "$out" -czf "$dir.tar.gz" "floor-$s"
  for c in cat dir gz tgz; do best_t[$s:$c]=999999; done
done
# Each round runs the four commands on every size, taking turns, and each keeps its best run:
# a slow spell of the machine then falls on all of them alike, the sizes included (the 5x
# target compares two sizes' runs)
for _ in $(seq "$ROUNDS"); do
  for s in "${sizes[@]}"; do
    dir="$out/floor-$s"
    run "$s:cat" "$dir" sh -c "find '$dir' -type f -exec cat {} + > /dev/null"
    run "$s:dir" "$dir" "$bin/credtrace" analyze "$dir" --format json --max-total-bytes 8G --max-entry-bytes 1G
    run "$s:gz" "$dir.tar.gz" sh -c "gzip -dc '$dir.tar.gz' > /dev/null"
    run "$s:tgz" "$dir.tar.gz" "$bin/credtrace" analyze "$dir.tar.gz" --format json --max-total-bytes 8G --max-entry-bytes 1G
  done
done
printf '%-9s %-9s %-22s %-22s %-22s %-22s\n' services MB "cat floor (s)" "analyze dir (s, MB)" "gzip -dc floor (s)" "analyze tar.gz (s, MB)"
prev=
for s in "${sizes[@]}"; do
  dir="$out/floor-$s"
  mb=$(du -sm "$dir" | cut -f1)
  printf '%-9s %-9s %-22s %-22s %-22s %-22s\n' "$s" "$mb" "${best_t[$s:cat]}" "${best_t[$s:dir]}, ${best_m[$s:dir]}" \
    "${best_t[$s:gz]}" "${best_t[$s:tgz]}, ${best_m[$s:tgz]}"
  echo "  disk blocks read by these runs: cat ${best_i[$s:cat]}, analyze dir ${best_i[$s:dir]}, gzip -dc ${best_i[$s:gz]}, analyze tar.gz ${best_i[$s:tgz]}"
  awk -v d="${best_t[$s:dir]}" -v c="${best_t[$s:cat]}" -v t="${best_t[$s:tgz]}" -v g="${best_t[$s:gz]}" \
    'BEGIN { printf "  directory %.2fx of cat, .tar.gz %.2fx of gzip -dc\n", d / c, t / g }'
  # what this size costs against the one before: time and peak memory, directory and .tar.gz
  if [ -n "$prev" ]; then
    awk -v n="$s" -v p="$prev" -v d="${best_t[$s:dir]}" -v pd="${best_t[$prev:dir]}" \
      -v t="${best_t[$s:tgz]}" -v pt="${best_t[$prev:tgz]}" -v md="${best_m[$s:dir]}" \
      -v pmd="${best_m[$prev:dir]}" -v mt="${best_m[$s:tgz]}" -v pmt="${best_m[$prev:tgz]}" \
      'BEGIN { printf "  %.1fx the services of %d: time %.2fx (dir), %.2fx (tar.gz); memory %.2fx, %.2fx\n", n / p, p, d / pd, t / pt, md / pmd, mt / pmt }'
  fi
  prev=$s
  # every planted chain diagnosed, and nothing else, from the directory and the .tar.gz alike
  for input in "$dir" "$dir.tar.gz"; do
    "$bin/credtrace" analyze "$input" --format json --max-total-bytes 8G --max-entry-bytes 1G > "$out/.analysis.json" || true
    printf '  %s: ' "$(basename "$input")"
    "$bin/examples/synth" --check "$dir.expected.json" "$out/.analysis.json" || echo "  planted chains check FAILED"
  done
done
