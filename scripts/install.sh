#!/usr/bin/env bash
# Installs everything lgcraft and its whole test suite need, on a fresh machine:
#   system packages (Mesa EGL for headless previews, a C compiler for the toy runtime
#   and the mesh kernels, Chromium for the browser pages' tests, Noto CJK for engraving),
#   npm tools (anvil, gltf-transform for the mesh benchmark), and a virtual environment
#   at .venv with lgcraft[all,test]. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${LGCRAFT_VENV:-.venv}

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# -- 1. System packages -------------------------------------------------------------
apt_packages=(gcc libc6-dev libegl1 libegl-mesa0 libgl1-mesa-dri libgles2 libglu1-mesa nodejs npm
              chromium fonts-noto-cjk)
missing=()
for pkg in "${apt_packages[@]}"; do
  if [ "$pkg" = nodejs ] || [ "$pkg" = npm ]; then
    command -v "${pkg/nodejs/node}" >/dev/null 2>&1 && continue
  fi
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
    say "apt-get install ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
  else
    echo "warning: install these system packages yourself: ${missing[*]}" >&2
  fi
fi

# -- 2. npm tools (anvil: a real local Ethereum node; gltf-transform: benchmark peer) ----
say "npm install (anvil, gltf-transform)"
# npm install, not npm ci: the lock file cannot list the other platforms' optional anvil builds.
npm install --no-audit --no-fund --loglevel=error

# -- 3. Python: virtual environment, torch, lgcraft with every extra ------------------
say "virtual environment $VENV"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
"${PIP[@]}" install -q --upgrade pip

# A CPU build of torch that lies on this machine's disk, in a folder pip's find-links
# names (as on lgcraft's CI machines), for this Python.
local_cpu_torch_wheel() {
  local tag dirs
  tag=$("$VENV/bin/python" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
  dirs="${PIP_FIND_LINKS:-} $("${PIP[@]}" config get global.find-links 2>/dev/null || true)"
  for d in $dirs; do ls "${d#file://}"/torch-*+cpu-"$tag"-*.whl 2>/dev/null; done | sort -V | tail -n 1
}

if ! "$VENV/bin/python" -c 'import torch' >/dev/null 2>&1; then
  # No pin for users: LGCRAFT_TORCH overrides; a machine with an NVIDIA GPU takes the
  # default build; otherwise a CPU build, from a local wheel if the machine has one
  # (pip's find-links), else from PyTorch's CPU index.
  if [ -n "${LGCRAFT_TORCH:-}" ]; then
    say "torch: $LGCRAFT_TORCH"; "${PIP[@]}" install -q "$LGCRAFT_TORCH"
  elif command -v nvidia-smi >/dev/null 2>&1; then
    say "torch (CUDA)"; "${PIP[@]}" install -q torch
  elif local_wheel=$(local_cpu_torch_wheel) && [ -n "$local_wheel" ]; then
    say "torch (CPU, local wheel $local_wheel)"; "${PIP[@]}" install -q "$local_wheel"
  else
    say "torch (CPU index)"
    "${PIP[@]}" install -q torch --index-url https://download.pytorch.org/whl/cpu
  fi
fi

say "pip install -e .[all,test]"
"${PIP[@]}" install -q -e ".[all,test]"
"$VENV/bin/lgcraft" --version
# the compiled mesh kernels are optional (setup.py): say which path this install runs
if "$VENV/bin/python" -c 'import lgcraft.meshes._meshcore' 2>/dev/null; then
  say "compiled mesh kernels: built"
else
  echo "warning: lgcraft/meshes/_meshcore.c was not built (no C compiler?): mesh prep runs its numpy path, 1.7-2x slower" >&2
fi
say "done: activate with 'source $VENV/bin/activate'"
