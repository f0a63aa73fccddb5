#!/usr/bin/env bash
# RUN benchmarks against buildah and BuildKit (a Docker daemon started here, when dockerd can be
# installed) in the same run (issue 4):
#   steps:    FROM a busybox base + 11 small RUN steps vs + 1: the per-step overhead is the
#             difference / 10 (startup, base image and export costs cancel out)
#   parallel: three independent CPU-bound stages and a final stage that copies from each, vs one
#             of those stages alone: the ratio of wall times (1.0 is perfect overlap; with fewer
#             cores than stages the floor is stages/cores)
# Every tool runs without its build cache (imgbuild --no-cache; buildah --layers --no-cache, so it
# commits each step as imgbuild and BuildKit do; docker build --no-cache) and without network
# (buildah: the host's, as --isolation chroot allows no other; no step uses it).
# Prints the median of RUNS runs (default 5). Needs root. Usage: tests/bench/run_bench.sh [RUNS]
NO_CACHE=1  # every step runs: this measures running steps, not the cache
source "$(dirname "$0")/peers.sh"
runs=${1:-5}
loops=${LOOPS:-2000000}
{
  echo "FROM busybox:bench"
  echo "RUN echo 0 > /step0"
} > "$work/one.Buildfile"
{
  echo "FROM busybox:bench"
  for i in $(seq 0 10); do echo "RUN echo $i > /step$i"; done
} > "$work/eleven.Buildfile"
stages_buildfile "$loops" > "$work/parallel.Buildfile"
declare -A one eleven par single
for tool in "${tools[@]}"; do
  "${tool}_build" "$work/one.Buildfile"  # warm-up (page cache, base image unpacked)
  a=() b=() c=() d=()
  for _ in $(seq "$runs"); do
    a+=("$(time_build "$tool" "$work/one.Buildfile")")
    b+=("$(time_build "$tool" "$work/eleven.Buildfile")")
  done
  for _ in $(seq 3); do
    c+=("$(time_build "$tool" "$work/parallel.Buildfile")")
    d+=("$(time_build "$tool" "$work/parallel.Buildfile" a)")
  done
  one[$tool]=$(printf '%s\n' "${a[@]}" | median)
  eleven[$tool]=$(printf '%s\n' "${b[@]}" | median)
  par[$tool]=$(printf '%s\n' "${c[@]}" | median)
  single[$tool]=$(printf '%s\n' "${d[@]}" | median)
done

# imgbuild's default --jobs is no limit; with a limit of the cores, a core idles at the end of an
# odd number of stages. The same build with --jobs = cores, for comparison:
j3=()
for _ in $(seq 3); do j3+=("$(IB_JOBS=$cpus time_build imgbuild "$work/parallel.Buildfile")"); done
par_j3=$(printf '%s\n' "${j3[@]}" | median)

echo
echo "machine: $cpus cores; medians of $runs runs (parallel: of 3)"
printf '%-9s %10s %10s %14s   %12s %12s %8s\n' tool "1 RUN (s)" "11 RUN (s)" "per step (ms)" "3 stages (s)" "1 stage (s)" ratio
for tool in "${tools[@]}"; do
  awk -v t="$tool" -v a="${one[$tool]}" -v b="${eleven[$tool]}" -v p="${par[$tool]}" -v s="${single[$tool]}" \
    'BEGIN { printf "%-9s %10.3f %10.3f %14.1f   %12.2f %12.2f %8.2f\n", t, a, b, (b - a) * 100, p, s, p / s }'
done
awk -v p="$par_j3" -v s="${single[imgbuild]}" \
  'BEGIN { printf "%-9s %10s %10s %14s   %12.2f %12.2f %8.2f\n", "imgbuild --jobs=cores", "", "", "", p, s, p / s }'
echo "(ratio floor on this machine: $(awk -v c="$cpus" 'BEGIN { printf "%.2f", (3 > c ? 3 / c : 1) }'))"
ib_step=$(awk -v a="${one[imgbuild]}" -v b="${eleven[imgbuild]}" 'BEGIN { print (b - a) / 10 }')
for tool in "${tools[@]}"; do
  [ "$tool" = imgbuild ] && continue
  awk -v t="$tool" -v s="$ib_step" -v a="${one[$tool]}" -v b="${eleven[$tool]}" \
    'BEGIN { printf "per-step overhead %s/imgbuild: %.1fx\n", t, ((b - a) / 10) / s }'
done
