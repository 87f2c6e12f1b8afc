#!/usr/bin/env bash
# The test suite on a CUDA machine, as far as it can run there: every test that can use the GPU,
# on the GPU (device="auto" picks CUDA). Prints the device, the versions and pytest's summary.
#
#   bash benchmarks/gpu_check.sh [--wheels DIR]
#
# A GPU machine often has torch and transformers but no network. Beyond those, the tests need a
# few small pure-Python packages (about 18 MB of wheels): pass --wheels DIR with them, fetched
# elsewhere by
#   pip download --no-deps --only-binary=:all: --python-version 3.12 -d DIR \
#     platformdirs gguf nbformat fastjsonschema jsonschema jsonschema-specifications referencing rpds-py \
#     attrs jupyter_core traitlets nbval ipywidgets comm widgetsnbextension jupyterlab_widgets ipython \
#     decorator jedi parso matplotlib-inline pexpect ptyprocess prompt_toolkit wcwidth stack_data executing \
#     asttokens pure_eval ipython_pygments_lexers ipykernel debugpy jupyter_client pyzmq tornado \
#     nest-asyncio2 python-dateutil nbclient
# (add the --platform manylinux tags of the GPU machine for pyzmq, rpds-py and tornado).
# Left out there: the embedded model's tests (its 98 MB wheel, `-m "not embedded"`) and the studio
# page and `make lab` (Voila, JupyterLab and chromium: tests/test_app.py).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--wheels" ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/blogneo-site "$2"/*.whl
  export PYTHONPATH="/tmp/blogneo-site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export HF_HUB_OFFLINE=1 HF_HUB_DISABLE_PROGRESS_BARS=1 TRANSFORMERS_VERBOSITY=error
export BLOGNEO_CACHE="${BLOGNEO_CACHE:-$(mktemp -d)}" OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
python3 - <<'PY'
import torch, transformers
assert torch.cuda.is_available(), "no CUDA GPU here: this check is for a GPU machine"
name, cap = torch.cuda.get_device_name(), torch.cuda.get_device_capability()
print(f"{name}, compute capability {cap[0]}.{cap[1]}, torch {torch.__version__}, transformers {transformers.__version__}")
PY
python3 -m pytest tests -m "not embedded" --ignore=tests/test_app.py -p no:cacheprovider -q -n 4 --dist loadfile \
  --durations=10 -rs
