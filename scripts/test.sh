#!/usr/bin/env bash
# The test command: builds everything, runs the generator and ONNX export tests once and the numeric/runtime
# tests on every SIMD path (AVX-512, AVX2, Vector128, scalar), the package tests, then the benchmarks' smoke checks, and prints the
# totals as one line "N passed, N failed".
# Needs the .NET 10 SDK; NuGet packages restore on first use, and Debian's python3-torch, python3-torchvision, clang and
# zlib1g-dev and dataset-fashion-mnist are installed when missing.
set -uo pipefail
cd "$(dirname "$0")/.."

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT

# PyTorch and torchvision (Debian's python3-torch and python3-torchvision, for /usr/bin/python3) are the reference of the PyTorch tests.
bash scripts/install-pytorch.sh || echo "could not install python3-torch and python3-torchvision: the PyTorch tests will fail"
# NativeAOT's platform linker and zlib (Debian's clang and zlib1g-dev), for the package tests' AOT publish.
bash scripts/install-aot.sh || echo "could not install clang and zlib1g-dev: the package tests' NativeAOT publish will fail"
# Fashion-MNIST (Debian's dataset-fashion-mnist), which the NativeAOT EmbeddedClassifier classifies in the package tests.
bash scripts/install-data.sh || echo "could not install dataset-fashion-mnist: the EmbeddedClassifier test will fail"

dotnet build Dsl.sln -c Release -nologo -clp:ErrorsOnly || { echo "0 passed, 1 failed"; exit 1; }

status=0
run() { # run NAME PROJECT [VAR=VALUE...] [-- DOTNET-TEST-ARGUMENTS...]
  local name=$1 project=$2; shift 2
  local vars=() extra=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do vars+=("$1"); shift; done
  [ $# -gt 0 ] && shift && extra=("$@")
  echo "== $name"
  env "${vars[@]}" dotnet test "$project" -c Release --no-build -nologo "${extra[@]}" \
    --logger "trx;LogFileName=$results/$name.trx" --logger "console;verbosity=minimal" || status=1
}

run generator tests/Dsl.Generator.Tests/Dsl.Generator.Tests.csproj
# Networks built for named instruction sets (DslInstructionSets) are loaded and run: once more without AVX-512, so a
# machine that has it also checks that an AVX-512-only network refuses to construct.
run generator-avx2 tests/Dsl.Generator.Tests/Dsl.Generator.Tests.csproj DOTNET_EnableAVX512=0 -- --filter "FullyQualifiedName~InstructionSetTests"
# ONNX export checked against ONNX Runtime, and the PyTorch twins against PyTorch: once (a few seconds).
run onnx      tests/Dsl.Onnx.Tests/Dsl.Onnx.Tests.csproj
# The default run uses the widest path the machine has; the others switch paths off one by one and the
# test IsaSetting_IsTheOneThisRunAskedFor checks the switch took effect.
run default   tests/Dsl.Tests/Dsl.Tests.csproj
run avx2      tests/Dsl.Tests/Dsl.Tests.csproj DOTNET_EnableAVX512=0 DSL_EXPECT_ISA=avx2
run vector128 tests/Dsl.Tests/Dsl.Tests.csproj DOTNET_EnableAVX2=0 DSL_EXPECT_ISA=vector128
run scalar    tests/Dsl.Tests/Dsl.Tests.csproj DOTNET_EnableHWIntrinsic=0 DSL_EXPECT_ISA=scalar
# Dsl and Dsl.Onnx packed as built, and a console app outside the repository that references the package, run
# under the JIT and published with NativeAOT (about 3 minutes).
run package   tests/Dsl.Package.Tests/Dsl.Package.Tests.csproj

# The benchmark suite's smoke mode: every benchmark runs a few times, the peers' outputs are checked against
# Dsl's and the Dsl calls must not allocate. It ends with its own "N passed, N failed" line.
echo "== benchmarks --smoke"
smoke=$(dotnet run -c Release --no-build --project tests/Dsl.Benchmarks -- --smoke 2>&1) || status=1
echo "$smoke"
smoke_totals=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' <<<"$smoke" | tail -n 1)

passed=0; failed=0; runs=0
for trx in "$results"/*.trx; do
  [ -e "$trx" ] || continue
  runs=$((runs + 1))
  counters=$(grep -o '<Counters [^>]*>' "$trx")
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
done
# A run that crashed before writing its results counts as a failure.
if [ "$runs" -lt 8 ]; then failed=$((failed + 8 - runs)); status=1; fi
if [ -n "$smoke_totals" ]; then
  passed=$((passed + ${smoke_totals%% passed*})); f=${smoke_totals##*, }; failed=$((failed + ${f%% failed}))
else
  failed=$((failed + 1)); status=1
fi
[ "$failed" -gt 0 ] && status=1
echo "$passed passed, $failed failed"
exit $status
