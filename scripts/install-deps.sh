#!/usr/bin/env bash
# Installs what continuo needs on Debian 12, and nothing that is already there. Idempotent: a
# second run only checks. Usage: scripts/install-deps.sh [apt|python|all] (default all).
set -euo pipefail
cd "$(dirname "$0")/.."

# Build: compilers, CMake, GoogleTest, Boost.JSON, Eigen. Tests: clang for libFuzzer and the sanitizer
# runtimes, clang-format and clang-tidy, libsmf as an independent reference reader.
apt_packages=(
  build-essential cmake ninja-build pkg-config git
  clang clang-format clang-tidy libclang-rt-14-dev
  libgtest-dev libboost-json1.81-dev libsmf-dev libeigen3-dev
  python3 python3-venv python3-dev
)

need_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "install-deps: need root (or sudo) to run: $*" >&2; exit 1
  fi
}

install_apt() {
  local missing=()
  for p in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "install-deps: installing ${missing[*]}" >&2
  need_root apt-get update -qq
  need_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# The Python venv at .venv: the reference readers used by the differential tests and benchmarks.
install_python() {
  local python=${PYTHON:-python3}
  if [ ! -x .venv/bin/python ]; then
    echo "install-deps: creating .venv" >&2
    "$python" -m venv .venv
  fi
  local stamp=.venv/.requirements.sha
  local want
  want=$(cat requirements-dev.txt | sha256sum | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "install-deps: installing Python packages into .venv" >&2
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -r requirements-dev.txt
    echo "$want" > "$stamp"
  fi
}

case "${1:-all}" in
  apt) install_apt ;;
  python) install_python ;;
  all) install_apt; install_python ;;
  *) echo "usage: $0 [apt|python|all]" >&2; exit 2 ;;
esac
