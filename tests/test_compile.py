"""The static KV cache and the compiled decoding step: CUDA's default, tested here on the CPU.

``load(..., compile=True)`` on the CPU takes the same path as CUDA's default: transformers' static
cache sized to a bucket, and ``torch.compile`` of the decoding step (inductor, for the CPU here;
the GPU adds CUDA graphs). The tiny GPT-Neo compiles in about 12 s on this machine, so one
compiled model serves the whole file, and each test keeps to the cache sizes and candidate
counts that are compiled already where it can.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from torch._dynamo.utils import counters

import blogneo
from blogneo.generation import generation_config
from blogneo.memory import (
    CACHE_GROWTH,
    COMPILED_RESERVE,
    OVERHEAD_FIXED,
    Shape,
    cache_bucket,
    load_footprint,
    run_bytes,
)
from blogneo.sampling import resolve_params

pytestmark = pytest.mark.slow  # torch.compile on the CPU, minutes in all: out of `make test-fast`

PROMPTS = ["The old lighthouse", "Baking bread", "Our team moved"]


@pytest.fixture(scope="module")
def notes():
    return []


@pytest.fixture(scope="module")
def compiled(tiny_folder, tmp_path_factory):
    # A copy: the in-process cache hands out one object per folder, and compile= is set on it.
    folder = shutil.copytree(tiny_folder, tmp_path_factory.mktemp("compiled") / "tiny")
    return blogneo.load(folder, dtype="fp32", compile=True)


@pytest.fixture(scope="module")
def eager(tiny_folder, tmp_path_factory):
    folder = shutil.copytree(tiny_folder, tmp_path_factory.mktemp("eager") / "tiny")
    return blogneo.load(folder, dtype="fp32", compile=False)


def test_compiling_is_cudas_default_and_off_on_the_cpu(tiny_folder, tmp_path):
    model = blogneo.load(shutil.copytree(tiny_folder, tmp_path / "t"), device="cpu")
    assert model.compile is False  # the CPU keeps eager decoding: faster there (see load's docstring)
    assert blogneo.load(tmp_path / "t", device="cpu", compile=True).compile is True  # the same object, switched


def test_the_compiled_path_writes_the_same_greedy_text_as_the_eager_one(compiled, eager, notes):
    for prompt in PROMPTS:
        [fast] = blogneo.generate(prompt, "precise", compiled, max_new_tokens=40, seed=1, progress=notes.append)
        [slow] = blogneo.generate(prompt, "precise", eager, max_new_tokens=40, seed=1)
        assert fast.text == slow.text and fast.finish_reason == slow.finish_reason
        assert len(fast.text) > 20
    where = "GPU" if compiled.device.type == "cuda" else "CPU"
    # said once, before the first run (one bucket, one candidate), through that call's own callback
    assert notes == [f"compiling for this {where}: 1 candidate(s), a 256-token cache (about 20 s on an H100, longer "
                     "on a CPU; once per model for each such pair)"]
    assert compiled.compiled == {(1, 256)}


def test_another_length_in_the_same_bucket_reuses_the_compiled_step(compiled, notes):
    blogneo.generate("The old lighthouse", "precise", compiled, max_new_tokens=10)  # compiled by now
    frames, said = counters["frames"]["ok"], len(notes)
    for new_tokens in (5, 33, 120):  # prompt and new tokens stay under 256
        blogneo.generate("Our team moved to a new office", "precise", compiled, max_new_tokens=new_tokens,
                         progress=notes.append)
    assert counters["frames"]["ok"] == frames  # dynamo compiled no new frame
    assert len(notes) == said


def test_stop_strings_streaming_and_stop_work_compiled(compiled, eager):
    [stopped] = blogneo.generate("The old lighthouse", "precise", compiled, max_new_tokens=40, stop=["bay"])
    assert stopped.finish_reason == "stop" and stopped.text.endswith("above the")
    running = blogneo.stream("Baking bread", "precise", compiled, max_new_tokens=40)
    streamed = "".join(running)
    [final] = running.result()
    [reference] = blogneo.generate("Baking bread", "precise", eager, max_new_tokens=40)
    assert streamed.startswith(final.text) and final.text == reference.text
    running = blogneo.stream("The old lighthouse", "precise", compiled, max_new_tokens=200, min_new_tokens=200)
    next(iter(running))  # the first words are on screen
    running.cancel()
    [cancelled] = running.result(timeout=30)
    assert cancelled.finish_reason == "cancelled" and cancelled.new_tokens < 200


def test_several_candidates_and_max_time_work_compiled(compiled):
    first = blogneo.generate("The old lighthouse", "creative", compiled, max_new_tokens=30, seed=5, num_candidates=2)
    again = blogneo.generate("The old lighthouse", "creative", compiled, max_new_tokens=30, seed=5, num_candidates=2)
    assert [c.text for c in first] == [c.text for c in again] and len(first) == 2
    assert (2, 256) in compiled.compiled
    [timed] = blogneo.generate("The old lighthouse", "precise", compiled, max_new_tokens=200, min_new_tokens=200,
                               max_time=0.001)
    assert timed.finish_reason == "time" and timed.new_tokens < 200


def test_the_lens_reads_a_compiled_model(compiled, eager):
    lens = blogneo.next_token_lens("The old lighthouse stood on the", "precise", compiled)
    assert lens.tokens == blogneo.next_token_lens("The old lighthouse stood on the", "precise", eager).tokens
    assert "rocks".startswith(lens.tokens[0].strip())  # the tiny tokenizer splits words into pieces


def test_the_cache_buckets_and_their_memory_by_hand(compiled):
    assert [cache_bucket(n, 2048) for n in (1, 256, 257, 700, 1024, 1025, 2048, 5000)] == \
        [256, 256, 512, 1024, 1024, 2048, 2048, 2048]
    assert cache_bucket(300, 256) == 256  # never beyond the context (the tiny model's is 256)
    params = resolve_params("precise", max_new_tokens=200)
    compiled.model._previous_max_cache_length = 0  # as a fresh model: the bucket alone decides
    assert generation_config(compiled, params, prompt_tokens=40).max_cache_len == 256
    compiled.model._previous_max_cache_length = 512  # a longer cache was used: keep it, so nothing recompiles
    assert generation_config(compiled, params, prompt_tokens=40).max_cache_len == 512
    compiled.model._previous_max_cache_length = 256
    # GPT-Neo-2.7B, bf16 on a GPU, 4 candidates of 1,500 tokens: the static cache is 2,048 long, allocated once.
    shape = Shape(layers=32, kv_width=2560, vocab=50257, context=2048)
    kv = 2 * 32 * 2560 * 2 * 4 * 2048  # keys and values x layers x width x 2 bytes x candidates x bucket
    logits = 3 * 4 * 4 * 50257
    # 2.5 GiB of cache, and as much again for the compiled step's graphs and the allocator's reserve
    assert run_bytes(shape, "bf16", "cuda", 4, 1500, static=True) == COMPILED_RESERVE * kv + logits
    assert run_bytes(shape, "bf16", "cuda", 4, 1500) == CACHE_GROWTH * 2 * 32 * 2560 * 2 * 4 * 1500 + logits


def test_a_compile_that_fails_is_one_line_and_the_run_goes_on_eagerly(tiny_folder, tmp_path):
    # A real failure of the real compiler, in a process of its own: its C++ compiler ($CXX, which
    # inductor reads as it starts) is /bin/false, and its kernel cache an empty folder, so nothing
    # compiled earlier can stand in. On the CPU alone, on any machine: a GPU's kernels are Triton's,
    # which need no C++ compiler (on a GPU the same happens without Triton or a toolchain).
    script = (
        "import blogneo, sys\n"
        "model = blogneo.load(sys.argv[1], dtype='fp32', device='cpu', compile=True)\n"
        "[c] = blogneo.generate('The old lighthouse', 'precise', model, max_new_tokens=40)\n"
        "print(repr(c.text), model.compile)\n"
    )
    # One compile thread: no pool of compile workers to start and stop around the failure (CI saw
    # this process abort once at exit, "terminate called without an active exception", under load).
    env = {**os.environ, "CXX": "/bin/false", "TORCHINDUCTOR_CACHE_DIR": str(tmp_path / "inductor"),
           "TORCHINDUCTOR_COMPILE_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", script, str(shutil.copytree(tiny_folder, tmp_path / "t"))],
                          capture_output=True, text=True, env=env, timeout=600)
    # Under load the process has aborted at exit, after its output, in a native thread of torch's
    # ("terminate called without an active exception": CI once, a busy 2-core run here once; never run alone).
    # The run is judged by what it printed; any other failure, or that abort with anything else, fails.
    teardown = done.returncode == -6 and done.stderr.strip() == "terminate called without an active exception"
    assert done.returncode == 0 or teardown, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    failed = [line for line in lines if "compiling the decoding step failed" in line]
    assert len(failed) == 1 and "compile=False" in failed[0], done.stdout
    recited = "' stood on the rocks above the bay. Every night its lamp turned slowly, and the ships passed safely"
    assert lines[-1] == recited + " into the harbour.' False"  # 40 tokens, then on to the sentence's end
    assert "Traceback" not in done.stderr


def test_compiled_runs_share_one_decoding_thread_and_eager_runs_start_none(compiled, eager, monkeypatch):
    # CUDA graphs are kept per thread, so every compiled run, of any model, decodes on the process's
    # one thread (a thread per model failed on an H100 with torch 2.11 at the second model's first
    # step). An eager run decodes where it was asked: a second long-lived thread keeps OpenMP workers
    # of its own, which halved the speed of every eager run on a 2-core CPU while it lived.
    import dataclasses
    import threading

    import blogneo.generation

    where = []
    once = blogneo.generation._generate_once
    monkeypatch.setattr(blogneo.generation, "_generate_once",
                        lambda *args: where.append(threading.current_thread()) or once(*args))
    another = dataclasses.replace(compiled, name="another")  # a second loaded model (sharing weights)
    blogneo.generate("Baking bread", "precise", eager, max_new_tokens=5)
    assert where == [threading.current_thread()]
    for model in (compiled, another, compiled):
        blogneo.generate("Baking bread", "precise", model, max_new_tokens=5)
    assert len(set(where[1:])) == 1 and where[1].name.startswith("blogneo-decode")
    assert len([t for t in threading.enumerate() if t.name.startswith("blogneo-decode")]) == 1


def test_the_decoding_thread_has_cuda_graph_trees_state_wherever_torch_set_it_up():
    # Before torch 2.12 CUDA graph trees kept their per-thread state only in the thread that imported
    # them; any other thread failed an assert at its first compiled step. This checks the state is
    # there in a new thread once blogneo's initializer ran (torch 2.12 and later set it up themselves).
    import threading

    from torch._inductor import cudagraph_trees as trees

    from blogneo.generation import _own_cuda_graph_trees

    found = []

    def fresh_thread():
        _own_cuda_graph_trees()
        found.append(trees.get_obj(trees.local, "tree_manager_containers"))

    thread = threading.Thread(target=fresh_thread)
    thread.start()
    thread.join()
    assert found and isinstance(found[0], dict)


def test_a_run_that_will_compile_says_so_to_its_own_caller_before_it_starts(compiled, capsys):
    # Two callers of one model: each run's note goes to its own callback, never to whoever loaded last.
    blogneo.load(compiled.name, dtype="fp32", compile=True, progress=lambda stage: None)  # a second load
    mine, order = [], []
    running = blogneo.stream("Baking bread", "creative", compiled, max_new_tokens=20, seed=2, num_candidates=3,
                             progress=lambda text: order.append(("note", text)) or mine.append(text))
    for chunk in running:
        order.append(("text", str(chunk)))
    running.result()
    assert mine and "(3 shown;" in mine[0] and order[0][0] == "note"  # before any text
    blogneo.generate("Baking bread", "creative", compiled, max_new_tokens=20, seed=2, num_candidates=3)
    assert "compiling" not in capsys.readouterr().out  # compiled once: nothing more to say


def test_candidates_are_sampled_in_a_compiled_batch_and_only_those_asked_for_are_shown(compiled, monkeypatch):
    # Moving the Candidates box between 5 and 8, or the length within the cache, compiles once: the batch of 8.
    run = {"prompt": "The old lighthouse", "params": "creative", "model": compiled, "seed": 5}
    ahead = blogneo.compile_ahead(**run, num_candidates=5, max_new_tokens=30)
    assert "a batch of 8 (5 shown; it serves 5 to 8 candidates), a 256-token cache" in ahead
    notes = []
    five = blogneo.generate(**run, num_candidates=5, max_new_tokens=30, progress=notes.append)
    assert len(five) == 5 and notes == [ahead]  # said before it, as compile_ahead said it would be
    assert (8, 256) in compiled.compiled and (5, 256) not in compiled.compiled
    frames = counters["frames"]["ok"]
    eight = blogneo.generate(**run, num_candidates=8, max_new_tokens=30, progress=notes.append)
    assert [c.text for c in eight[:5]] == [c.text for c in five]  # the same seed: the first 5 of the batch of 8
    for candidates, new_tokens in ((6, 60), (8, 12), (7, 100)):
        assert blogneo.compile_ahead(**run, num_candidates=candidates, max_new_tokens=new_tokens) is None
        assert len(blogneo.generate(**run, num_candidates=candidates, max_new_tokens=new_tokens,
                                    progress=notes.append)) == candidates
    running = blogneo.stream(**run, num_candidates=5, max_new_tokens=30)
    chunks = list(running)
    assert {chunk.candidate for chunk in chunks} == set(range(5)) and len(running.result()) == 5  # no 6th shows
    assert counters["frames"]["ok"] == frames and len(notes) == 1  # no compile after the first: counted by dynamo
    # 9 candidates need the batch of 16: said before anything runs
    assert "a batch of 16 (9 shown; it serves 9 to 16 candidates)" in blogneo.compile_ahead(**run, num_candidates=9)
    # a batch of 16 that would not fit while 9 would: the 9 asked for, compiled as they are
    from blogneo import memory
    need = memory.run_bytes(compiled.shape, compiled.precision, "cpu", 9, 256, static=True) + memory.OVERHEAD_FIXED
    monkeypatch.setattr(memory, "available_memory", lambda device: need)
    assert "compiling for this CPU: 9 candidate(s)," in blogneo.compile_ahead(**run, num_candidates=9)


def test_eager_runs_sample_exactly_the_candidates_asked_for(eager):
    # No compile, no rounding: on the CPU's default path 3 candidates are a batch of 3.
    from blogneo.generation import _plan

    plan = _plan(eager, "The old lighthouse", resolve_params("creative", num_candidates=3))
    assert plan.params.num_candidates == 3 and plan.compile is None
    assert blogneo.compile_ahead("The old lighthouse", "creative", eager, num_candidates=3) is None


def test_the_compiled_path_s_estimate_covers_what_a_gpu_reserved():
    # Measured on an H100 (docs/measurements.md#memory): GPT-Neo's shapes, bf16, 4 candidates x 1,045 tokens,
    # compiled. PyTorch reserved 0.90 GiB at its peak for the 125M shape and 5.16 GiB for the 1.3B one, where
    # the estimate then said 1.02 and 4.48 (short). The 2.7B row (11.18) ran after the others in the same process
    # and held what they left, so it is not held here; a clean run per shape will be (benchmarks/gpu_memory.py).
    from blogneo.catalog import KNOWN

    for name, reserved in (("gpt-neo-125m", 0.90), ("gpt-neo-1.3b", 5.16)):
        c = KNOWN[name]
        need = load_footprint(c.parameters, "bf16", "cuda", c.shape, candidates=4, tokens=1045, static=True)
        assert need / 2**30 > reserved, (name, need / 2**30)
        # and the run, as check_run counts it once the weights are loaded, covers all beyond them
        run = run_bytes(c.shape, "bf16", "cuda", 4, 1045, static=True) + OVERHEAD_FIXED
        assert run / 2**30 > reserved - 2 * c.parameters / 2**30
