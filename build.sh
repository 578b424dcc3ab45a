#!/usr/bin/env bash
# LlamaAot build driver (build.ps1 is its line-for-line twin for Windows).
#   ./build.sh [publish]      restore, build, publish the NativeAOT binary to artifacts/llama-aot
#   ./build.sh test           publish, then run every test; the last line is "N passed, N failed"
#   ./build.sh bench [args]   run the BenchmarkDotNet suite in bench/ (args go to BenchmarkDotNet)
# --cpu native|avx512|avx2 picks the NativeAOT instruction-set baseline (default native: the best this CPU has).
# NativeAOT compiles every ISA above the baseline as unsupported, so the baseline decides which kernels exist.
set -euo pipefail
cd "$(dirname "$0")"

command="publish"
cpu="${LLAMA_AOT_CPU:-native}"
rest=()
while [ $# -gt 0 ]; do
  case "$1" in
    publish|test|bench) command="$1" ;;
    --cpu) cpu="$2"; shift ;;
    --cpu=*) cpu="${1#--cpu=}" ;;
    *) rest+=("$1") ;;
  esac
  shift
done

# "native" resolves to the widest baseline this machine runs; a binary for older CPUs needs an explicit --cpu avx2.
if [ "$cpu" = "native" ]; then
  if grep -q -w avx512bw /proc/cpuinfo 2>/dev/null; then cpu="avx512"; else cpu="avx2"; fi
fi
case "$cpu" in avx512|avx2) ;; *) echo "error: --cpu must be native, avx512 or avx2" >&2; exit 2 ;; esac

export DOTNET_CLI_TELEMETRY_OPTOUT=1
export DOTNET_NOLOGO=1

publish_binary() {
  dotnet publish src/LlamaAot/LlamaAot.csproj -c Release --use-current-runtime -p:LlamaAotCpu="$cpu" -o artifacts/publish || return 1
  mkdir -p artifacts
  cp artifacts/publish/llama-aot artifacts/llama-aot || return 1
  echo "published artifacts/llama-aot (baseline $cpu, $(stat -c %s artifacts/llama-aot) bytes)"
}

case "$command" in
  publish)
    publish_binary
    ;;
  test)
    # The shipped NativeAOT binary is under test too (PublishedBinaryTests), so publish it first.
    if ! publish_binary; then echo "0 passed, 1 failed"; exit 1; fi
    export LLAMA_AOT_BINARY="$PWD/artifacts/llama-aot"
    # The summary line is parsed from dotnet test's own totals so the count is the runner's, not ours.
    log="$(mktemp)"
    set +e
    dotnet test LlamaAot.sln -c Release "${rest[@]}" 2>&1 | tee "$log"
    status=${PIPESTATUS[0]}
    set -e
    passed=$(grep -oE 'Passed: +[0-9]+' "$log" | grep -oE '[0-9]+' | awk '{s+=$1} END {print s+0}')
    failed=$(grep -oE 'Failed: +[0-9]+' "$log" | grep -oE '[0-9]+' | awk '{s+=$1} END {print s+0}')
    rm -f "$log"
    if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi   # build or runner failure counts as a failure
    echo "$passed passed, $failed failed"
    exit "$status"
    ;;
  bench)
    dotnet run -c Release --project bench/LlamaAot.Bench/LlamaAot.Bench.csproj -- "${rest[@]}"
    ;;
esac
