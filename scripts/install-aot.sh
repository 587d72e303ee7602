#!/usr/bin/env bash
# Installs what NativeAOT publishing needs on Linux from Debian's packages when it is missing and this user can
# (root, or sudo without a password): the platform linker `clang` (package clang) and zlib's headers and static
# library (zlib1g-dev), which the ILCompiler links in; otherwise does nothing, and `dotnet publish -p:PublishAot=true`
# says what it lacks. Called by scripts/test.sh for the package tests' AOT publish.
set -euo pipefail

missing=()
command -v clang >/dev/null || missing+=(clang)
[ -e /usr/include/zlib.h ] || missing+=(zlib1g-dev)
if [ ${#missing[@]} -gt 0 ] && command -v apt-get >/dev/null; then
  if [ "$(id -u)" = 0 ]; then sudo=""; elif sudo -n true 2>/dev/null; then sudo="sudo -n"; else sudo=none; fi
  if [ "$sudo" != none ]; then
    echo "Installing Debian package(s) ${missing[*]} ..."
    $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi
