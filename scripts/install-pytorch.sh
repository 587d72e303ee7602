#!/usr/bin/env bash
# Installs PyTorch and torchvision for Debian's own python3 (/usr/bin/python3, packages python3-torch and
# python3-torchvision) when they are missing and this user can (root, or sudo without a password); otherwise does
# nothing, and the tests that need them say how to install them. Another python3 that comes first on the PATH is
# not used. Called by scripts/test.sh.
set -euo pipefail

missing=()
/usr/bin/python3 -c "import torch" 2>/dev/null || missing+=(python3-torch)
/usr/bin/python3 -c "import torchvision" 2>/dev/null || missing+=(python3-torchvision)
if [ ${#missing[@]} -gt 0 ] && command -v apt-get >/dev/null; then
  if [ "$(id -u)" = 0 ]; then sudo=""; elif sudo -n true 2>/dev/null; then sudo="sudo -n"; else sudo=none; fi
  if [ "$sudo" != none ]; then
    echo "Installing Debian packages ${missing[*]} ..."
    $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi
