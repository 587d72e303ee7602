#!/usr/bin/env bash
# The main job: trains the Fashion-MNIST sample. Installs the data set from Debian's package when it is
# missing and this user can (root, or sudo without a password); otherwise the sample says how to install it.
# Extra arguments go to the sample, e.g. `bash scripts/run-sample.sh --epochs 5`. A first argument naming
# another sample runs that one instead: `bash scripts/run-sample.sh TinyTransformer`, `... ResidualDepth`.
set -euo pipefail
cd "$(dirname "$0")/.."

data=/usr/share/datasets/fashion-mnist
if [ ! -e "$data/train-images-idx3-ubyte.gz" ] && command -v apt-get >/dev/null; then
  if [ "$(id -u)" = 0 ]; then sudo=""; elif sudo -n true 2>/dev/null; then sudo="sudo -n"; else sudo=none; fi
  if [ "$sudo" != none ]; then
    echo "Installing Debian package dataset-fashion-mnist ..."
    $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist
  fi
fi

sample=FashionMnist
case "${1:-}" in
  FashionMnist|TinyTransformer|ResidualDepth) sample=$1; shift ;;
esac
exec dotnet run -c Release --project "samples/$sample" -- "$@"
