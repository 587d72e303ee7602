#!/usr/bin/env bash
# Installs PyTorch for Debian's own python3 (/usr/bin/python3, package python3-torch) when it is missing and this
# user can (root, or sudo without a password); otherwise does nothing, and the tests that need it say how to
# install it. Another python3 that comes first on the PATH is not used. Called by scripts/test.sh.
set -euo pipefail

if ! /usr/bin/python3 -c "import torch" 2>/dev/null && command -v apt-get >/dev/null; then
  if [ "$(id -u)" = 0 ]; then sudo=""; elif sudo -n true 2>/dev/null; then sudo="sudo -n"; else sudo=none; fi
  if [ "$sudo" != none ]; then
    echo "Installing Debian package python3-torch ..."
    $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch >/dev/null
  fi
fi
