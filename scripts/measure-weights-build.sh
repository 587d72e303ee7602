#!/usr/bin/env bash
# Build time of compiled-in weights (docs/compiled-weights.md): a project declaring one dense layer of about 1 MB
# (512 x 512) and 10 MB (1600 x 1600) of weights, built with the weights compiled in and without them, after a
# restore: a full build (obj and bin removed) and a rebuild after editing Program.cs. Prints one line per figure.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
seconds() { local s e; s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N); echo "$e - $s" | bc; }
for size in 1 10; do
  n=$([ $size = 1 ] && echo 512 || echo 1600)
  for mode in plain weights; do
    d=p-$size-$mode; mkdir -p $d
    item=$([ $mode = weights ] && echo '<DslWeights Include="w.safetensors" />' || true)
    cat > $d/$d.csproj <<EOP
<Project Sdk="Microsoft.NET.Sdk">
  <Import Project="$root/src/Dsl/build/Dsl.targets" />
  <PropertyGroup><OutputType>Exe</OutputType><TargetFramework>net10.0</TargetFramework><AllowUnsafeBlocks>true</AllowUnsafeBlocks></PropertyGroup>
  <ItemGroup>
    <ProjectReference Include="$root/src/Dsl/Dsl.csproj" />
    <ProjectReference Include="$root/generator/Dsl.Generator/Dsl.Generator.csproj" OutputItemType="Analyzer" ReferenceOutputAssembly="false" />
    $item
  </ItemGroup>
</Project>
EOP
    weights=$([ $mode = weights ] && echo ', Weights = "w.safetensors"' || true)
    printf 'using Dsl;\n[Network(Input = %s%s)]\npublic partial class Net { [Dense(%s)] public partial Dense Fc { get; } }\n' "$n" "$weights" "$n" > $d/Net.cs
    if [ $mode = weights ]; then
      echo 'System.Console.WriteLine(Net.Pretrained().Parameters.ReadsCompiledWeights);' > $d/Program.cs
    else
      echo 'using Dsl; new Net(1).Save("../w-'$size'.safetensors");' > $d/Program.cs
    fi
  done
  (cd p-$size-plain && dotnet build -c Release -nologo -v q >/dev/null && dotnet run -c Release --no-build)
  cp w-$size.safetensors p-$size-weights/w.safetensors
  echo "$size MB: weights file $(stat -c %s p-$size-weights/w.safetensors) bytes"
  for mode in plain weights; do
    d=p-$size-$mode
    (cd $d && dotnet build -c Release -nologo -v q >/dev/null)
    rm -rf $d/obj/Release $d/bin
    echo "$size MB $mode: full build $(cd $d && seconds dotnet build -c Release -nologo -v q --no-restore) s"
    touch $d/Program.cs
    echo "$size MB $mode: rebuild after an edit $(cd $d && seconds dotnet build -c Release -nologo -v q --no-restore) s"
  done
  echo "$size MB: assembly with the weights $(stat -c %s p-$size-weights/bin/Release/net10.0/p-$size-weights.dll) bytes; Pretrained reads them in place: $(cd p-$size-weights && dotnet run -c Release --no-build)"
done
