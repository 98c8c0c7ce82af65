#!/usr/bin/env pwsh
# Glm.Onnx build entry point. Run through the repo's local tool manifest on any machine with the .NET SDK:
#   dotnet tool restore && dotnet pwsh build.ps1 <target>
# Targets:
#   build  - build the solution (the .NET build also builds custom-ops with CMake)
#   test   - build, then run every .NET test project and the custom-ops GoogleTest suite (CTest)
#   demo   - the main job on the model bundled in models/
#   pack   - NuGet packages and .NET tools into -PackageOutput (default artifacts/packages); docs/packaging.md
#   cuda-check - compile-check the CUDA sources with the installed nvcc (no GPU needed)
#   bench-ops - build the custom-ops benchmarks (Release) and run them; figures in docs/benchmarks.md
#   bench-tokenizer - encode 1 MB and 2 MB of text with the fixture tokenizers (medians, tokens/s, linearity ratio)
#   bench-convert - conversion throughput and peak memory on a >= 4 GB synthetic checkpoint (needs ~20 GB disk)
param(
    [Parameter(Position = 0)]
    [ValidateSet('build', 'test', 'demo', 'pack', 'cuda-check', 'bench-ops', 'bench-tokenizer', 'bench-convert')]
    [string]$Target = 'build',
    [ValidateSet('Debug', 'Release')]
    [string]$Configuration = 'Release',
    [ValidateSet('Cpu', 'Gpu')]
    [string]$Ort = 'Cpu',
    # pack: where the .nupkg / .snupkg files go, and whether to reuse the current build instead of building first.
    [string]$PackageOutput = '',
    [switch]$NoBuild
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$Root = $PSScriptRoot
$Solution = Join-Path $Root 'Glm.Onnx.sln'
$BundledModel = Join-Path $Root 'models/glm52-tiny'

function Invoke-Checked([string]$What, [scriptblock]$Command) {
    Write-Host "==> $What" -ForegroundColor Cyan
    & $Command
    if ($LASTEXITCODE -ne 0) { throw "$What failed (exit code $LASTEXITCODE)" }
}

function Invoke-Build {
    Invoke-Checked 'dotnet build' { dotnet build $Solution -c $Configuration -p:OrtFlavor=$Ort --nologo -v minimal }
}

function Invoke-Tests {
    Invoke-Build
    $passed = 0; $failed = 0; $failedNames = @()
    $testProjects = Get-ChildItem (Join-Path $Root 'tests') -Recurse -Filter '*.Tests.csproj'
    foreach ($project in $testProjects) {
        Write-Host "==> dotnet test $($project.BaseName)" -ForegroundColor Cyan
        $output = dotnet test $project.FullName -c $Configuration -p:OrtFlavor=$Ort --no-build --nologo 2>&1 |
            Tee-Object -Variable lines | ForEach-Object { Write-Host $_; $_ }
        $summary = $output | Select-String -Pattern 'Failed:\s+(\d+), Passed:\s+(\d+)' | Select-Object -Last 1
        $failedNames += $output | Select-String -Pattern '^\s*Failed (\S+) \[' | ForEach-Object { $_.Matches[0].Groups[1].Value }
        if ($summary) {
            $failed += [int]$summary.Matches[0].Groups[1].Value
            $passed += [int]$summary.Matches[0].Groups[2].Value
        }
        if ($LASTEXITCODE -ne 0 -and -not $summary) { $failed += 1 }
    }
    $nativeBuild = Join-Path $Root "custom-ops/build/$Configuration"
    Write-Host '==> ctest (custom-ops)' -ForegroundColor Cyan
    $ctest = ctest --test-dir $nativeBuild --output-on-failure -j 2 2>&1 | ForEach-Object { Write-Host $_; $_ }
    $ctestSummary = $ctest | Select-String -Pattern 'tests passed, (\d+) tests failed out of (\d+)' | Select-Object -Last 1
    if ($ctestSummary) {
        $nativeFailed = [int]$ctestSummary.Matches[0].Groups[1].Value
        $failed += $nativeFailed
        $passed += [int]$ctestSummary.Matches[0].Groups[2].Value - $nativeFailed
    } elseif ($LASTEXITCODE -ne 0) { $failed += 1 }
    $failedNames += $ctest | Select-String -Pattern '^\s*\d+ - (\S+) \(Failed' | ForEach-Object { $_.Matches[0].Groups[1].Value }
    # The benchmark scripts' own unit tests (Python standard library only): scripts/test_*.py, unittest's summary.
    foreach ($script in Get-ChildItem (Join-Path $Root 'scripts') -Filter 'test_*.py') {
        Write-Host "==> python3 $($script.Name)" -ForegroundColor Cyan
        $py = python3 $script.FullName 2>&1 | ForEach-Object { Write-Host $_; "$_" }
        $ran = $py | Select-String -Pattern '^Ran (\d+) tests?' | Select-Object -Last 1
        $bad = 0
        foreach ($kind in 'failures', 'errors') {
            $m = $py | Select-String -Pattern "^FAILED \(.*$kind=(\d+)" | Select-Object -Last 1
            if ($m) { $bad += [int]$m.Matches[0].Groups[1].Value }
        }
        if (-not $ran) { $bad = [Math]::Max($bad, 1) }
        elseif ($LASTEXITCODE -ne 0 -and $bad -eq 0) { $bad = 1 }
        if ($ran) { $passed += [int]$ran.Matches[0].Groups[1].Value - $bad }
        $failed += $bad
        if ($bad -gt 0) { $failedNames += $script.Name }
    }
    # Repeated here so that a log's tail (all a CI summary may keep) names what failed.
    foreach ($name in $failedNames) { Write-Host "failed: $name" -ForegroundColor Red }
    Write-Host "tests: $passed passed, $failed failed"
    if ($failed -gt 0) { exit 1 }
}

function Invoke-Pack {
    # Packages are always the CPU build's outputs: the ONNX Runtime flavour is the consumer's choice of meta-package.
    if ($Ort -ne 'Cpu') { throw 'pack: packages are built from the Cpu build (-Ort Cpu); consumers pick the flavour' }
    if (-not $NoBuild) { Invoke-Build }
    $output = if ($PackageOutput) { [System.IO.Path]::GetFullPath($PackageOutput) } else { Join-Path $Root 'artifacts/packages' }
    # Libraries: a separate restore (obj/pack/) in which bundled project references are private, then pack from the
    # existing build outputs (packaging/pack.props explains why). Tools: the build's own restore, since a tool
    # bundles its whole dependency closure.
    $libraries = Join-Path $Root 'packaging/libraries.slnf'
    Invoke-Checked 'dotnet restore (pack mode)' { dotnet restore $libraries -p:GlmPackRestore=true --nologo -v minimal }
    Invoke-Checked 'dotnet pack (libraries)' {
        dotnet pack $libraries -c $Configuration -p:GlmPackRestore=true --no-build --no-restore --nologo -v minimal -o $output
    }
    Invoke-Checked 'dotnet pack (tools)' {
        dotnet pack (Join-Path $Root 'packaging/tools.slnf') -c $Configuration --no-build --nologo -v minimal -o $output
    }
    Get-ChildItem $output -Filter '*.*nupkg' | Sort-Object Name | ForEach-Object { Write-Host "  $($_.Name)" }
}

function Invoke-Demo {
    Invoke-Build
    $convert = Join-Path $Root "converter/glm-convert/bin/$Configuration/net10.0/linux-x64/glm-convert.dll"
    Invoke-Checked "glm-convert inspect $BundledModel" { dotnet $convert inspect $BundledModel }
    # Convert the bundled checkpoint to fp32 ONNX artifacts in a temp folder, then run them on CPU against the
    # transformers reference logits (per-position max abs error, argmax agreement, greedy decode through the cache).
    $artifacts = Join-Path ([System.IO.Path]::GetTempPath()) "glm52-tiny-onnx-$PID"
    try {
        Invoke-Checked "glm-convert convert $BundledModel (fp32)" { dotnet $convert convert $BundledModel $artifacts --precision fp32 --force }
        $reference = Join-Path $BundledModel 'reference.safetensors'
        Invoke-Checked "glm-convert verify $artifacts" { dotnet $convert verify $artifacts --reference $reference --checksums }
        # Then generate through the runtime engine (paged KV cache, scheduler, sampler) from the fixture's short prompt;
        # transformers' greedy continuation is 224,125,125,224,125,35,183,125,224,237,167,23.
        $run = Join-Path $Root "runtime/glm-run/bin/$Configuration/net10.0/linux-x64/glm-run.dll"
        Invoke-Checked "glm-run generate --model $artifacts" {
            dotnet $run generate --model $artifacts --input-ids 247,80,101,222,215,127 --max-new-tokens 12 --json
        }
    } finally {
        if (Test-Path $artifacts) { Remove-Item -Recurse -Force $artifacts }
    }
}

function Invoke-BenchConvert {
    Invoke-Checked 'scripts/bench-convert.sh' { bash (Join-Path $Root 'scripts/bench-convert.sh') }
}

function Invoke-CudaCheck {
    # Compile-checks every CUDA source (kernels, CUDA-EP wrappers, GPU parity + benchmark programs) with the nvcc
    # on PATH (no GPU needed), then runs the parity harness's CPU-only dry run. docs/cuda.md has the details.
    $nvcc = Get-Command nvcc -ErrorAction SilentlyContinue
    if (-not $nvcc) { throw 'nvcc not found: install nvidia-cuda-toolkit (Debian, non-free) or a CUDA toolkit' }
    $buildDir = Join-Path $Root 'custom-ops/build/cuda-check'
    $ortInclude = Join-Path ([Environment]::GetFolderPath('UserProfile')) '.nuget/packages/microsoft.ml.onnxruntime/1.31.1/build/native/include'
    $extra = @()
    # Debian's nvcc 11.8 rejects its gcc 12; clang 14 is the host compiler it accepts.
    if (Get-Command clang++-14 -ErrorAction SilentlyContinue) { $extra += '-DCMAKE_CUDA_HOST_COMPILER=clang++-14' }
    Invoke-Checked 'cmake configure (CUDA)' {
        cmake -S (Join-Path $Root 'custom-ops') -B $buildDir -DCMAKE_BUILD_TYPE=Release "-DORT_INCLUDE_DIR=$ortInclude" `
            -DGLM_OPS_BUILD_TESTS=OFF -DGLM_OPS_BUILD_BENCH=OFF -DGLM_OPS_CUDA=ON -DGLM_OPS_BUILD_GPU_TOOLS=ON @extra
    }
    Invoke-Checked 'cmake build (CUDA)' { cmake --build $buildDir --parallel 2 }
    Invoke-Checked 'GPU parity harness, CPU-only dry run' { & (Join-Path $buildDir 'glm_ops_gpu_parity') --dry-run }
}

function Invoke-BenchOps {
    $buildDir = Join-Path $Root 'custom-ops/build/bench'
    $ortInclude = Join-Path ([Environment]::GetFolderPath('UserProfile')) '.nuget/packages/microsoft.ml.onnxruntime/1.31.1/build/native/include'
    Invoke-Checked 'cmake configure (bench)' {
        cmake -S (Join-Path $Root 'custom-ops') -B $buildDir -DCMAKE_BUILD_TYPE=Release "-DORT_INCLUDE_DIR=$ortInclude" `
            -DGLM_OPS_BUILD_TESTS=OFF -DGLM_OPS_BUILD_BENCH=ON
    }
    Invoke-Checked 'cmake build (bench)' { cmake --build $buildDir --parallel 2 --target bench_attention bench_moe_experts bench_dense_projection bench_decode_sequence }
    Invoke-Checked 'bench_attention' { & (Join-Path $buildDir 'bench_attention') }
    Invoke-Checked 'bench_moe_experts' { & (Join-Path $buildDir 'bench_moe_experts') }
    Invoke-Checked 'bench_dense_projection' { & (Join-Path $buildDir 'bench_dense_projection') }
    Invoke-Checked 'bench_decode_sequence' { & (Join-Path $buildDir 'bench_decode_sequence') int8 }
}

function Invoke-BenchTokenizer {
    $project = Join-Path $Root 'bench/Glm.Onnx.TokenizerBench/Glm.Onnx.TokenizerBench.csproj'
    Invoke-Checked 'dotnet build (tokenizer bench)' { dotnet build $project -c Release --nologo -v minimal }
    $tokenizers = Join-Path $Root '../shared/fixtures/tokenizers'
    Invoke-Checked 'tokenizer bench' {
        dotnet run --project $project -c Release --no-build -- (Join-Path $tokenizers 'qwen3') (Join-Path $tokenizers 'deepseek_v3')
    }
}

Push-Location $Root
try {
    switch ($Target) {
        'build' { Invoke-Build }
        'test' { Invoke-Tests }
        'demo' { Invoke-Demo }
        'pack' { Invoke-Pack }
        'cuda-check' { Invoke-CudaCheck }
        'bench-ops' { Invoke-BenchOps }
        'bench-tokenizer' { Invoke-BenchTokenizer }
        'bench-convert' { Invoke-BenchConvert }
    }
} finally {
    Pop-Location
}
