#!/usr/bin/env bash
# Installs the Fashion-MNIST data set from Debian's package (dataset-fashion-mnist) when it is missing and this
# user can (root, or sudo without a password); otherwise does nothing, and the program that needs it says how to
# install it. Called by scripts/run-sample.sh and tests/Dsl.Peers.TorchSharp/run.sh.
set -euo pipefail

data=/usr/share/datasets/fashion-mnist
if [ ! -e "$data/train-images-idx3-ubyte.gz" ] && command -v apt-get >/dev/null; then
  if [ "$(id -u)" = 0 ]; then sudo=""; elif sudo -n true 2>/dev/null; then sudo="sudo -n"; else sudo=none; fi
  if [ "$sudo" != none ]; then
    echo "Installing Debian package dataset-fashion-mnist ..."
    $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist
  fi
fi
