#!/usr/bin/env bash
# Installs the samples' data from Debian's packages when it is missing and this user can (root, or sudo without a
# password): the Fashion-MNIST data set (dataset-fashion-mnist) and the fortune cookies the character-level GPT
# learns from (fortunes); otherwise does nothing, and the program that needs them says how to install them.
# Called by scripts/run-sample.sh and tests/Dsl.Peers.TorchSharp/run.sh.
set -euo pipefail

missing=()
[ -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || missing+=(dataset-fashion-mnist)
[ -e /usr/share/games/fortunes/fortunes ] || missing+=(fortunes)
if [ ${#missing[@]} -gt 0 ] && command -v apt-get >/dev/null; then
  if [ "$(id -u)" = 0 ]; then sudo=""; elif sudo -n true 2>/dev/null; then sudo="sudo -n"; else sudo=none; fi
  if [ "$sudo" != none ]; then
    echo "Installing Debian package(s) ${missing[*]} ..."
    $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  fi
fi
