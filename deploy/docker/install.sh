#!/bin/sh
# Install the vaeserve serving package (no torch) into a fresh virtual environment.
#
# The container images run this script in their build stage and CI runs it into a temporary
# folder, so what CI starts and checks is what the images hold. It stays POSIX sh because the
# CUDA base image has no bash guarantees and the slim Python image has no need of it.
#
# usage: install.sh [--gpu] PREFIX [SOURCE]
#   PREFIX  where the virtual environment goes (created; must not exist yet)
#   SOURCE  the source tree to install from (default: the repository holding this script)
#   --gpu   replace onnxruntime with onnxruntime-gpu of the same version (both wheels ship
#           the one `onnxruntime` module, so the swap needs --no-deps and --force-reinstall)
# environment: PYTHON (default python3), and the usual PIP_* variables.
set -eu

gpu=0
if [ "${1:-}" = "--gpu" ]; then
    gpu=1
    shift
fi
if [ "$#" -lt 1 ] || [ "$#" -gt 2 ]; then
    echo "usage: $0 [--gpu] PREFIX [SOURCE]" >&2
    exit 64
fi
prefix=$1
source_dir=${2:-$(CDPATH='' cd -- "$(dirname -- "$0")/../.." && pwd)}
python=${PYTHON:-python3}

if [ -e "$prefix" ]; then
    echo "install.sh: $prefix already exists; give a new folder" >&2
    exit 1
fi

"$python" -m venv "$prefix"
# A plain (not editable) install: the image must not depend on the source tree staying put.
"$prefix/bin/python" -m pip install --no-input "$source_dir"

if [ "$gpu" = 1 ]; then
    version=$("$prefix/bin/python" -c 'from importlib.metadata import version; print(version("onnxruntime"))')
    "$prefix/bin/python" -m pip uninstall --yes onnxruntime
    "$prefix/bin/python" -m pip install --no-input --force-reinstall --no-deps "onnxruntime-gpu==$version"
fi

# Fail the build here, not at the first request, if the install is not what serving needs.
"$prefix/bin/python" - <<'EOF'
import importlib.util
import sys

if importlib.util.find_spec("torch") is not None:
    sys.exit("install.sh: torch is importable; the serving install must not carry it")
for module in ("vaeserve.server", "vaeserve.models", "onnxruntime", "grpc_health.v1"):
    if importlib.util.find_spec(module) is None:
        sys.exit(f"install.sh: {module} is missing from the install")
EOF
"$prefix/bin/vaeserve" --version
