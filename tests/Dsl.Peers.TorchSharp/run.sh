#!/usr/bin/env bash
# The TorchSharp peer: trains the Fashion-MNIST sample's MLP and CNN for one epoch each with TorchSharp and
# prints the epoch times at 1 and 2 threads. Installs the data set from Debian's package when it is missing
# and this user can (root, or sudo without a password); otherwise the program says how to install it.
# Arguments go to the program; none means `epochs` (both models, 1 then 2 threads), e.g.
#   bash tests/Dsl.Peers.TorchSharp/run.sh epochs --model cnn --threads 2
# Not part of Dsl.sln or CI: the first build restores TorchSharp-cpu and libtorch (~200 MB) from NuGet.
set -euo pipefail
cd "$(dirname "$0")/../.."

bash scripts/install-data.sh

[ $# -gt 0 ] || set -- epochs
# Build first (its AfterBuild step patches libLibTorchSharp.so, see README.md), then run without rebuilding,
# so build output does not mix with the timings.
dotnet build -c Release -nologo -v q -clp:ErrorsOnly tests/Dsl.Peers.TorchSharp
exec dotnet run -c Release --no-build --project tests/Dsl.Peers.TorchSharp -- "$@"
