#!/usr/bin/env bash
# The six workloads of issue 16, imgbuild against BuildKit (a dockerd started here) and buildah
# (bud --layers), interleaved run by run (imgbuild, BuildKit, buildah, then the next run), build
# time only (each tool's base image is made first, untimed):
#   files:    20,000 small files (~50 MB): COPY + RUN (a file count), cold / no-op / one file changed
#   big:      one 512 MiB incompressible file: COPY, cold / no-op
#   steps:    10 small RUN steps, cold / no-op
#   stages:   3 CPU-bound stages (and a final stage copying from each), cold / no-op
# cold = the tool's --no-cache (its cache ignored, every step runs); no-op = the same build again.
# Prints medians of RUNS runs (default 5) and imgbuild's ratios; then imgbuild's peak RSS (from
# /usr/bin/time -v) for the cold files and big builds. Needs root. Usage: tests/bench/peers_bench.sh [RUNS]
source "$(dirname "$0")/peers.sh"
runs=${1:-5}
loops=${LOOPS:-1000000}

# The contexts and Buildfiles.
mkdir -p "$work/files" "$work/big" "$work/small"
python3 tests/bench/small_files.py "$work/files" 20000 2000 1250
head -c $((512 << 20)) /dev/urandom > "$work/big/blob"
printf 'FROM busybox:bench\nCOPY . /app/\nRUN find /app -type f | wc -l > /count\n' > "$work/files.Buildfile"
printf 'FROM busybox:bench\nCOPY blob /data/blob\n' > "$work/big.Buildfile"
{
  echo "FROM busybox:bench"
  for i in $(seq 0 9); do echo "RUN echo $i > /step$i"; done
} > "$work/steps.Buildfile"
stages_buildfile "$loops" > "$work/stages.Buildfile"
declare -A context=([files]="$work/files" [big]="$work/big" [steps]="$work/small" [stages]="$work/small")

declare -A t  # t[tool,measure] = newline-separated seconds
record() { t[$1,$2]+="$3"$'\n'; }
for run in $(seq "$runs"); do
  for tool in "${tools[@]}"; do
    for w in files big steps stages; do
      ctx=${context[$w]}
      record "$tool" "$w cold" "$(NO_CACHE=1 time_build "$tool" "$work/$w.Buildfile")"
      record "$tool" "$w no-op" "$(time_build "$tool" "$work/$w.Buildfile")"
      if [ "$w" = files ]; then
        echo "change $tool $run $RANDOM" > "$work/files/d09/f19999.txt"
        record "$tool" "files one file" "$(time_build "$tool" "$work/$w.Buildfile")"
      fi
    done
  done
  echo "bench: run $run of $runs done" >&2
done

med() { printf '%s' "${t[$1,$2]}" | median; }
echo
echo "$(date -u +%F), $cpus cores, $(uname -r); build time, medians of $runs runs (interleaved)"
measures=("files cold" "files no-op" "files one file" "big cold" "big no-op" "steps cold" "steps no-op" "stages cold" "stages no-op")
printf '%-16s' workload; for tool in "${tools[@]}"; do printf '%12s' "$tool (s)"; done
for tool in "${tools[@]}"; do [ "$tool" = imgbuild ] || printf '%16s' "$tool/imgbuild"; done; echo
for m in "${measures[@]}"; do
  printf '%-16s' "$m"
  for tool in "${tools[@]}"; do printf '%12.3f' "$(med "$tool" "$m")"; done
  for tool in "${tools[@]}"; do
    [ "$tool" = imgbuild ] && continue
    awk -v a="$(med imgbuild "$m")" -v b="$(med "$tool" "$m")" 'BEGIN { printf "%15.2fx", b / a }'
  done
  echo
done

# imgbuild's peak memory on the cold builds of the two big contexts.
for w in files big; do
  ctx=${context[$w]}
  /usr/bin/time -v build/imgbuild build --root "$ib_root" --progress=plain --network=none --no-cache -f "$work/$w.Buildfile" "$ctx" \
    >/dev/null 2>"$work/time.log" || { cat "$work/time.log" >&2; exit 1; }
  echo "imgbuild peak RSS, $w cold: $(awk '/Maximum resident/ { printf "%.1f MiB", $6 / 1024 }' "$work/time.log")"
done
echo "state dirs: imgbuild $(du -sh "$ib_root" | cut -f1), buildah $(du -sh "$work/buildah" 2>/dev/null | cut -f1)"
