#!/usr/bin/env bash
# One call on a machine with a CUDA GPU: the tests that touch CUDA, then the Monte Carlo and training-protocol
# benchmarks on cuda, their JSON written under docs/benchmarks/.  Budgeted for about 8 minutes in all (each step
# has its own timeout, so one slow step cannot eat the others' time); the exit status is the first failure's.
#
#   bash benchmarks/device.sh            # from the repository root; PYTHON=... to pick the interpreter
#
# Results stay in docs/benchmarks/*-cuda.json (the CPU figures beside them were measured on the 2-core machine).
set -u
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python}"
OUT_DIR="docs/benchmarks"
status=0

step() {  # step SECONDS NAME COMMAND...: run with a timeout, report its time and status
    local limit=$1 name=$2
    shift 2
    local start=$SECONDS
    echo "== $name (at most ${limit} s)"
    timeout --signal=INT --kill-after=15 "$limit" "$@"
    local rc=$?
    echo "== $name: exit $rc after $((SECONDS - start)) s"
    if [ "$rc" -ne 0 ] && [ "$status" -eq 0 ]; then status=$rc; fi
}

"$PYTHON" - <<'PY' || exit 1
import torch
assert torch.cuda.is_available(), "no CUDA device: this script is for a GPU machine"
print("torch", torch.__version__, "on", torch.cuda.get_device_name(0), "x", torch.cuda.device_count())
PY

# The tests that ask torch about CUDA (device resolution, generators on a device), and the sweep/Ray device checks.
step 150 "CUDA tests" env HYPOTHESIS_PROFILE=ci "$PYTHON" -m pytest -q -p no:cacheprovider \
    tests/montecarlo/test_sampler.py tests/verify/test_sweep.py -k "cuda or device or gpu or generator"
step 150 "Monte Carlo benchmark (cuda)" "$PYTHON" -m montecarlo.benchmark --device cuda \
    --json "$OUT_DIR/montecarlo-cuda.json"
step 180 "training protocol benchmark (cuda)" "$PYTHON" -m training.benchmark --protocol --device cuda \
    --json "$OUT_DIR/training-protocol-cuda.json"
exit "$status"
