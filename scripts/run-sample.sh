#!/usr/bin/env bash
# The main job: trains the Fashion-MNIST sample. Installs the data set from Debian's package when it is
# missing and this user can (root, or sudo without a password); otherwise the sample says how to install it.
# Extra arguments go to the sample, e.g. `bash scripts/run-sample.sh --epochs 5`. A first argument naming
# another sample runs that one instead: `bash scripts/run-sample.sh TinyTransformer`, `... ResidualDepth`, `... ResNet`, `... Pruning`, `... CharGpt`, `... MixtureOfExperts`.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-data.sh

sample=FashionMnist
case "${1:-}" in
  FashionMnist|TinyTransformer|ResidualDepth|ResNet|Pruning|CharGpt|MixtureOfExperts) sample=$1; shift ;;
esac
exec dotnet run -c Release --project "samples/$sample" -- "$@"
