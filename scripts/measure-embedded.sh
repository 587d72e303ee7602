#!/usr/bin/env bash
# Measures the embedded deployment (docs/embedded.md): builds the EmbeddedClassifier sample with NativeAOT (portable,
# and for this machine's instruction set), under the JIT, an empty NativeAOT console as the baseline, and the ONNX
# Runtime console framework-dependent and self-contained; then prints one table (sizes, peak RSS, process start to
# first result, first inference call against the steady state) and checks the goals of issue #18.
#   bash scripts/measure-embedded.sh            # RUNS=51 runs per program (at least 21)
#   RUNS=21 OUT=/tmp/embedded bash scripts/measure-embedded.sh
# Needs the .NET SDK, clang and zlib1g-dev (NativeAOT's linker), gcc (the timing helper) and the Fashion-MNIST data
# set (installed here when missing and possible). Takes about 5 minutes on a 2-core machine, mostly publishing.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
runs=${RUNS:-51}
out=${OUT:-$repo/artifacts/embedded}
[ "$runs" -ge 21 ] || { echo "RUNS must be at least 21" >&2; exit 2; }
for tool in clang gcc; do command -v $tool >/dev/null || { echo "$tool missing: apt-get install -y clang zlib1g-dev gcc" >&2; exit 2; }; done
bash scripts/install-data.sh
rm -rf "$out" && mkdir -p "$out"
log() { echo "== $*" >&2; }

log "timing helper (scripts/first-result.c)"
gcc -O2 -Wall -Wextra -o "$out/first-result" scripts/first-result.c

publish() { # name, then dotnet publish arguments
  local name=$1; shift
  log "publish $name: dotnet publish $*"
  dotnet publish "$@" -c Release -o "$out/$name" -nologo -v q > "$out/$name.log" 2>&1 || { cat "$out/$name.log" >&2; exit 1; }
}
publish aot samples/EmbeddedClassifier -r linux-x64
publish aot-native samples/EmbeddedClassifier -r linux-x64 -p:IlcInstructionSet=native
publish jit samples/EmbeddedClassifier -r linux-x64 --self-contained false -p:PublishAot=false

# The baseline: an empty NativeAOT console with the sample's settings, outside the repository (no Directory.Build.*).
mkdir -p "$out/empty-src"
cat > "$out/empty-src/Empty.csproj" <<'EOF'
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <PublishAot>true</PublishAot>
    <InvariantGlobalization>true</InvariantGlobalization>
  </PropertyGroup>
</Project>
EOF
echo 'System.Console.WriteLine("x");' > "$out/empty-src/Program.cs"
publish empty "$out/empty-src" -r linux-x64

log "export the FashionMlp to ONNX (samples/EmbeddedClassifier.OnnxExport)"
dotnet run -c Release --project samples/EmbeddedClassifier.OnnxExport -- "$out" >&2
publish ort-fd samples/EmbeddedClassifier.Onnx -r linux-x64 --self-contained false
publish ort-sc samples/EmbeddedClassifier.Onnx -r linux-x64 --self-contained true
cp "$out/fashion-mlp.onnx" "$out/ort-fd/" && cp "$out/fashion-mlp.onnx" "$out/ort-sc/"

# What ships: every file of the folder but debug symbols and XML docs (*.dbg, *.pdb, *.xml).
deployed() { find "$1" -type f ! -name '*.dbg' ! -name '*.pdb' ! -name '*.xml' -printf '%s\n' | awk '{s += $1} END {print s}'; }
size() { stat -c %s "$1"; }
mb() { awk -v b="$1" 'BEGIN {printf "%.2f MB", b / 1e6}'; }
field() { sed -n "s/.*$2 \([0-9]*\).*/\1/p" <<<"$1"; } # a number from first-result's line
bench() { sed -n "s/^$2: \([0-9.]*\) .*/\1/p" <<<"$1" | head -1; } # a number from --bench output

declare -A exe first rss benchout
row() { # name, executable, marker, arguments
  local name=$1 program=$2 marker=$3; shift 3
  log "run $name $* ($runs runs)"
  "$program" "$@" > /dev/null # once untimed, so every timed run finds the files in the page cache
  local line; line=$("$out/first-result" "$runs" "$marker" "$program" "$@")
  exe[$name]=$program; first[$name]=$(field "$line" first_median_us); rss[$name]=$(field "$line" max_rss_kib)
}
row empty "$out/empty/Empty" "x"
row aot "$out/aot/EmbeddedClassifier" "class: "
row aot-cnn "$out/aot/EmbeddedClassifier" "class: " --cnn
row aot-native "$out/aot-native/EmbeddedClassifier" "class: "
row aot-native-cnn "$out/aot-native/EmbeddedClassifier" "class: " --cnn
row jit "$out/jit/EmbeddedClassifier" "class: "
row ort-fd "$out/ort-fd/EmbeddedClassifier.Onnx" "class: "
row ort-sc "$out/ort-sc/EmbeddedClassifier.Onnx" "class: "
for name in aot aot-native jit ort-fd ort-sc; do
  benchout[$name]=$("${exe[$name]}" --bench)
done
benchout[aot-cnn]=$("$out/aot/EmbeddedClassifier" --cnn --bench)
benchout[aot-native-cnn]=$("$out/aot-native/EmbeddedClassifier" --cnn --bench)
benchout[jit-cnn]=$("$out/jit/EmbeddedClassifier" --cnn --bench)

weights=$(( $(size samples/EmbeddedClassifier/weights/fashion-mlp.safetensors) + $(size samples/EmbeddedClassifier/weights/fashion-cnn.safetensors) ))
echo
echo "Machine: $(lscpu | sed -n 's/^Model name: *//p') (family $(sed -n 's/^cpu family\t*: //p' /proc/cpuinfo | head -1) model $(sed -n 's/^model\t*: //p' /proc/cpuinfo | head -1), AVX-512 $(grep -q avx512f /proc/cpuinfo && echo yes || echo no)), $(nproc) cores, $(uname -sr), .NET SDK $(dotnet --version), $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "Start to first result: median of $runs runs, posix_spawn to the first line starting with the marker (scripts/first-result.c); peak RSS: wait4's ru_maxrss, the largest of the runs."
echo
echo "| program | executable (apphost for JIT) | deployment | peak RSS | start to first result | first call | steady state | first / steady | allocated per call |"
echo "|---|--:|--:|--:|--:|--:|--:|--:|--:|"
line() { # name, label, folder, bench key or empty
  local name=$1 label=$2 folder=$3 key=$4 f="" s="" ratio="" alloc=""
  if [ -n "$key" ]; then
    local b=${benchout[$key]}
    f=$(bench "$b" "first Forward"); [ -n "$f" ] || f=$(bench "$b" "first Run")
    s=$(bench "$b" "steady state"); ratio=$(awk -v f="$f" -v s="$s" 'BEGIN {printf "%.1fx", f / s}')
    alloc=$(sed -n 's/^allocated per call[^:]*: \([0-9]*\) B/\1 B/p' <<<"$b")
    f="$f us"; s="$s us"
  fi
  local start; start=$(awk -v u="${first[$name]}" -v e="${first[empty]}" 'BEGIN {printf "%.2f ms (%+.2f)", u / 1000, (u - e) / 1000}')
  echo "| $label | $(mb "$(size "${exe[$name]}")") | $(mb "$(deployed "$folder")") | $(awk -v k="${rss[$name]}" 'BEGIN {printf "%.1f MB", k * 1024 / 1e6}') | $start | $f | $s | $ratio | $alloc |"
}
line empty "empty NativeAOT console (baseline)" "$out/empty" ""
line aot "NativeAOT, MLP" "$out/aot" aot
line aot-cnn "NativeAOT, CNN" "$out/aot" aot-cnn
line aot-native "NativeAOT native ISA, MLP" "$out/aot-native" aot-native
line aot-native-cnn "NativeAOT native ISA, CNN" "$out/aot-native" aot-native-cnn
line jit "JIT (framework-dependent), MLP" "$out/jit" jit
line ort-fd "ONNX Runtime, framework-dependent, MLP" "$out/ort-fd" ort-fd
line ort-sc "ONNX Runtime, self-contained, MLP" "$out/ort-sc" ort-sc
echo
echo "Start to first result: the difference to the empty console in brackets. JIT (CNN): $(bench "${benchout[jit-cnn]}" "first Forward") us first call, $(bench "${benchout[jit-cnn]}" "steady state") us steady."
echo "The framework-dependent deployments also need the shared .NET runtime installed (not counted); the weights compiled in are $(mb $weights) (both networks)."

echo
echo "Goals:"
goal() { if awk "BEGIN {exit !($2)}"; then echo "  pass: $1"; else echo "  FAIL: $1"; fi; }
aot_exe=$(size "${exe[aot]}"); empty_exe=$(size "${exe[empty]}")
extra=$(( aot_exe - empty_exe - weights ))
goal "NativeAOT executable <= empty console + weights + 1.5 MB (code: $(mb $extra))" "$extra <= 1500000"
for name in aot aot-native; do
  goal "$name: start to first result within 2 ms of the empty console (+$(awk -v a="${first[$name]}" -v e="${first[empty]}" 'BEGIN {printf "%.2f", (a - e) / 1000}') ms MLP, +$(awk -v a="${first[$name-cnn]}" -v e="${first[empty]}" 'BEGIN {printf "%.2f", (a - e) / 1000}') ms CNN)" \
    "${first[$name]} - ${first[empty]} <= 2000 && ${first[$name-cnn]} - ${first[empty]} <= 2000"
done
for key in aot aot-cnn aot-native aot-native-cnn; do
  b=${benchout[$key]}; f=$(bench "$b" "first Forward"); s=$(bench "$b" "steady state"); r=$(awk -v f="$f" -v s="$s" 'BEGIN {printf "%.1f", f / s}')
  goal "$key: first inference call within 3x of the steady state (${r}x)" "$r <= 3"
done
for key in aot aot-cnn aot-native aot-native-cnn jit jit-cnn; do
  a=$(sed -n 's/^allocated per call: \([0-9]*\) B/\1/p' <<<"${benchout[$key]}")
  goal "$key: 0 B allocated per Forward call ($a B)" "$a == 0"
done
goal "ONNX Runtime (JIT) console >= 10x slower to first result than NativeAOT ($(awk -v o="${first[ort-fd]}" -v a="${first[aot]}" 'BEGIN {printf "%.1f", o / a}')x)" "${first[ort-fd]} >= 10 * ${first[aot]}"
fd=$(deployed "$out/ort-fd"); sc=$(deployed "$out/ort-sc"); ours=$(deployed "$out/aot")
goal "NativeAOT deployment >= 5x smaller than ONNX Runtime framework-dependent ($(awk -v o=$fd -v a=$ours 'BEGIN {printf "%.1f", o / a}')x)" "$fd >= 5 * $ours"
goal "NativeAOT deployment >= 20x smaller than ONNX Runtime self-contained ($(awk -v o=$sc -v a=$ours 'BEGIN {printf "%.1f", o / a}')x)" "$sc >= 20 * $ours"
