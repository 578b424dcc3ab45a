#!/usr/bin/env pwsh
# LlamaAot build driver (build.sh is its line-for-line twin for Linux).
#   ./build.ps1 [publish]      restore, build, publish the NativeAOT binary to artifacts/llama-aot
#   ./build.ps1 test           publish, then run every test; the last line is "N passed, N failed"
#   ./build.ps1 bench [args]   run the BenchmarkDotNet suite in bench/ (args go to BenchmarkDotNet)
# --cpu native|avx512|avx2 picks the NativeAOT instruction-set baseline (default native: the best this CPU has).
# NativeAOT compiles every ISA above the baseline as unsupported, so the baseline decides which kernels exist.
$ErrorActionPreference = "Stop"
Set-Location $PSScriptRoot

$command = "publish"
$cpu = if ($env:LLAMA_AOT_CPU) { $env:LLAMA_AOT_CPU } else { "native" }
$rest = @()
for ($i = 0; $i -lt $args.Count; $i++) {
  switch -Regex ($args[$i]) {
    '^(publish|test|bench)$' { $command = $args[$i] }
    '^--cpu$' { $cpu = $args[$i + 1]; $i++ }
    '^--cpu=' { $cpu = $args[$i].Substring(6) }
    default { $rest += $args[$i] }
  }
}

# "native" resolves to the widest baseline this machine runs; a binary for older CPUs needs an explicit --cpu avx2.
if ($cpu -eq "native") {
  if ([System.Runtime.Intrinsics.X86.Avx512BW]::IsSupported) { $cpu = "avx512" } else { $cpu = "avx2" }
}
if ($cpu -notin @("avx512", "avx2")) { Write-Error "error: --cpu must be native, avx512 or avx2"; exit 2 }

$env:DOTNET_CLI_TELEMETRY_OPTOUT = "1"
$env:DOTNET_NOLOGO = "1"

$exe = if ($IsWindows) { "llama-aot.exe" } else { "llama-aot" }
function Publish-Binary {
  # Out-Host keeps dotnet's output off the function's return value (only $true/$false is returned).
  dotnet publish src/LlamaAot/LlamaAot.csproj -c Release --use-current-runtime -p:LlamaAotCpu="$cpu" -o artifacts/publish | Out-Host
  if ($LASTEXITCODE -ne 0) { return $false }
  New-Item -ItemType Directory -Force artifacts | Out-Null
  Copy-Item "artifacts/publish/$exe" "artifacts/$exe" -Force
  Write-Host "published artifacts/$exe (baseline $cpu, $((Get-Item "artifacts/$exe").Length) bytes)"
  return $true
}

switch ($command) {
  "publish" {
    if (-not (Publish-Binary)) { exit 1 }
  }
  "test" {
    # The shipped NativeAOT binary is under test too (PublishedBinaryTests), so publish it first.
    if (-not (Publish-Binary)) { Write-Output "0 passed, 1 failed"; exit 1 }
    $env:LLAMA_AOT_BINARY = Join-Path $PWD "artifacts/$exe"
    # The summary line is parsed from dotnet test's own totals so the count is the runner's, not ours.
    $log = New-TemporaryFile
    dotnet test LlamaAot.sln -c Release @rest 2>&1 | Tee-Object -FilePath $log
    $status = $LASTEXITCODE
    $text = Get-Content $log -Raw
    $passed = ([regex]::Matches($text, 'Passed: +(\d+)') | ForEach-Object { [int]$_.Groups[1].Value } | Measure-Object -Sum).Sum
    $failed = ([regex]::Matches($text, 'Failed: +(\d+)') | ForEach-Object { [int]$_.Groups[1].Value } | Measure-Object -Sum).Sum
    Remove-Item $log
    if ($status -ne 0 -and $failed -eq 0) { $failed = 1 }   # build or runner failure counts as a failure
    Write-Output "$([int]$passed) passed, $([int]$failed) failed"
    exit $status
  }
  "bench" {
    dotnet run -c Release --project bench/LlamaAot.Bench/LlamaAot.Bench.csproj -- @rest
  }
}
