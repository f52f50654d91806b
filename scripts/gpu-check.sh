#!/usr/bin/env bash
# make gpu-check: check the CUDA path on this machine's NVIDIA GPU, in under 8 minutes.
#
# On a machine with an NVIDIA GPU: create .venv-gpu, install the serving package, the test
# tools and onnxruntime-gpu (in place of the CPU onnxruntime: both ship the one `onnxruntime`
# module), run the tests marked `gpu` (tests/gpu), run the GPU benchmark (bench/gpu.py) and
# write reports/gpu.md. Without a GPU: say so and exit 0, installing nothing.
#
# environment:
#   GPU_CHECK_NVIDIA_SMI   the nvidia-smi to ask (default: nvidia-smi)
#   GPU_CHECK_DEVICE_NODE  the device file that also proves a GPU (default: /dev/nvidia0)
#   GPU_CHECK_VENV         the environment to create (default: .venv-gpu)
#   GPU_CHECK_REPORT       the report to write (default: reports/gpu.md)
#   GPU_CHECK_WHEELS       a folder of wheels to install from instead of the index (a GPU
#                          machine without a registry: fill it with `pip download` elsewhere)
#   PYTHON                 the interpreter that creates the environment (default: python3)
set -euo pipefail

root=$(cd -- "$(dirname -- "$0")/.." && pwd)
nvidia_smi=${GPU_CHECK_NVIDIA_SMI:-nvidia-smi}
device_node=${GPU_CHECK_DEVICE_NODE:-/dev/nvidia0}
venv=${GPU_CHECK_VENV:-$root/.venv-gpu}
report=${GPU_CHECK_REPORT:-$root/reports/gpu.md}
python=${PYTHON:-python3}
started=$SECONDS
BUDGET_S=470      # under 8 minutes in all
TESTS_MAX_S=150   # the gpu-marked tests take well under a minute on a GPU
BENCH_MIN_S=180   # what the benchmark needs at least (three --workers counts)

gpus=""
if command -v "$nvidia_smi" >/dev/null 2>&1; then
    gpus=$("$nvidia_smi" -L 2>/dev/null | grep '^GPU' || true)
fi
if [ -z "$gpus" ] && [ ! -e "$device_node" ]; then
    echo "gpu-check: no NVIDIA GPU found ('$nvidia_smi -L' lists none and $device_node does not exist): nothing installed, nothing run."
    exit 0
fi
echo "gpu-check: found ${gpus:-$device_node}"

# Whatever happens, leave nothing running: every child of this script is ended on exit.
children() { pgrep -P $$ || true; }
trap 'for pid in $(children); do kill "$pid" 2>/dev/null || true; done' EXIT

pip_from=()
if [ -n "${GPU_CHECK_WHEELS:-}" ]; then
    pip_from=(--no-index --find-links "$GPU_CHECK_WHEELS")
fi
"$python" -m venv --clear "$venv"
pip=("$venv/bin/python" -m pip install --quiet --no-input "${pip_from[@]}")
# A plain install (not editable): the dev venv's editable build folder stays untouched.
"${pip[@]}" "$root" pytest pytest-timeout onnx
version=$("$venv/bin/python" -c 'from importlib.metadata import version; print(version("onnxruntime"))')
"$venv/bin/python" -m pip uninstall --yes --quiet onnxruntime
# The cuda and cudnn extras bring CUDA's and cuDNN's libraries as wheels; the same version
# as the CPU wheel where it exists, else the newest.
"${pip[@]}" "onnxruntime-gpu[cuda,cudnn]==$version" || "${pip[@]}" "onnxruntime-gpu[cuda,cudnn]"
# onnxruntime finds the CUDA libraries those wheels unpack through the library path.
libs=$(find "$venv" -path '*/site-packages/nvidia/*/lib' -type d | paste -sd: -)
export LD_LIBRARY_PATH="${libs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
echo "gpu-check: installed in $((SECONDS - started)) s"

mkdir -p "$(dirname -- "$report")"
log=$(mktemp)
status=0
cd "$root"
# The whole check stays under 8 minutes: the tests and the benchmark share what the
# install left of BUDGET_S (each ends by its own timeout, and the kill after it).
left() { echo $((BUDGET_S - (SECONDS - started))); }
tests_s=$(( $(left) - BENCH_MIN_S )); tests_s=$(( tests_s > TESTS_MAX_S ? TESTS_MAX_S : tests_s ))
if [ "$tests_s" -lt 30 ]; then
    echo "gpu-check: the install took $((SECONDS - started)) s: too little time is left" >&2
    exit 1
fi
timeout --kill-after=5 "$tests_s" "$venv/bin/python" -m pytest -m gpu tests/gpu \
    -p no:cacheprovider -q 2>&1 | tee "$log" || status=$?
timeout --kill-after=10 "$(( $(left) - 15 ))" "$venv/bin/python" -m vaeserve.bench.gpu \
    --provider cuda --output "$report" --tests-log "$log" || status=$?
rm -f "$log"
echo "gpu-check: done in $((SECONDS - started)) s; report: $report"
exit "$status"
