"""The fast path: fp16 weights packed for fbgemm on the CPU by default, with the quality of fp32.

Speed itself is not tested here (shared machines are noisy): benchmarks/bench_decode.py measures
it as ratios. These tests check what must hold whatever the timing: which path is chosen, that
it really stores fewer bytes, and that its perplexity stays within 3% of the fp32 reference.
"""

import pytest
import torch
from tiny_gptneo import PARAGRAPHS

import blogneo
from blogneo import precision
from blogneo.errors import BlogneoError
from blogneo.lens import perplexity
from blogneo.speed import REFERENCE_TEXT, memory_bandwidth, roofline, weight_bytes

CPU = torch.device("cpu")


def test_auto_is_fp16_on_the_cpu_and_fp32_stays_available():
    assert precision.resolve_dtype("auto", CPU) == "fp16"
    assert precision.resolve_dtype("fp32", CPU) == "fp32"
    assert precision.resolve_dtype(torch.bfloat16, CPU) == "bf16"


def test_int8_is_refused_off_the_cpu():
    with pytest.raises(BlogneoError, match="dtype='int8' is not available on cuda"):
        precision.resolve_dtype("int8", torch.device("cuda"))


def test_the_default_load_packs_linear_weights_as_fp16_and_computes_in_fp32(tiny_folder):
    # Pinned to the CPU: packing for fbgemm is the CPU's default (a GPU holds half precision instead).
    tiny = blogneo.load(tiny_folder, device="cpu")
    exact = blogneo.load(tiny_folder, device="cpu", dtype="fp32")
    assert tiny.precision == "fp16" and exact.precision == "fp32" and tiny is not exact
    assert tiny.dtype == torch.float32 and "fp16" in repr(tiny)
    assert not any(type(m) is torch.nn.Linear for m in tiny.model.modules())
    # Half the bytes in every Linear layer; layer norms and biases stay fp32.
    assert weight_bytes(tiny) < 0.6 * weight_bytes(exact)


def test_int8_is_an_explicit_choice_with_a_quarter_of_the_bytes(tiny_folder):
    # Pinned to the CPU: int8's kernels exist only there (test_int8_is_refused_off_the_cpu).
    exact = blogneo.load(tiny_folder, device="cpu", dtype="fp32")
    int8 = blogneo.load(tiny_folder, device="cpu", dtype="int8")
    assert int8.precision == "int8"
    assert weight_bytes(int8) < 0.35 * weight_bytes(exact)
    [c] = blogneo.generate("The old lighthouse", model=int8, seed=1, max_new_tokens=10)
    assert c.new_tokens > 0


def test_weight_bytes_counts_a_tied_output_layer_once_and_skips_lookup_tables(tiny_folder):
    exact = blogneo.load(tiny_folder, dtype="fp32").model
    parameters = sum(p.numel() for p in exact.parameters())  # the tied LM head shares wte's tensor
    positions = exact.transformer.wpe.weight.numel()
    assert weight_bytes(exact) == 4 * (parameters - positions)


def test_the_roofline_is_bandwidth_over_weight_bytes(tiny):
    bandwidth = memory_bandwidth(megabytes=64, repeats=2)
    assert bandwidth > 1e8  # any machine reads more than 100 MB/s
    assert roofline(bandwidth, tiny) == pytest.approx(bandwidth / weight_bytes(tiny))


def _assert_close_perplexity(fast, exact, text):
    tokens = len(exact.tokenizer(text, add_special_tokens=False)["input_ids"])
    assert tokens >= 300, tokens
    reference, quick = perplexity(text, exact), perplexity(text, fast)
    assert abs(quick / reference - 1) < 0.03, (reference, quick)
    return reference, quick


def test_default_perplexity_is_within_3_percent_of_fp32_on_the_tiny_gpt_neo(tiny_folder, tiny):
    exact = blogneo.load(tiny_folder, dtype="fp32")
    text = "\n\n".join(PARAGRAPHS * 3)  # longer than its 256-token context: read in windows
    reference, _ = _assert_close_perplexity(tiny, exact, text)
    # It learned these paragraphs: far below the 400 of guessing among its 400 tokens, so the
    # comparison is about real predictions, not noise.
    assert reference < 10


def test_default_perplexity_is_within_3_percent_of_fp32_on_the_embedded_model(embedded):
    exact = blogneo.load("embedded", dtype="fp32")
    assert embedded.precision == "fp16"
    reference, _ = _assert_close_perplexity(embedded, exact, REFERENCE_TEXT)
    assert reference < 30  # plain English: a real language model predicts it well


def test_perplexity_reads_long_texts_in_windows(tiny_folder):
    exact = blogneo.load(tiny_folder, dtype="fp32")
    # Longer than the 256 positions GPT-Neo has here: one forward pass over it would fail.
    long = "\n\n".join(PARAGRAPHS * 4)
    assert len(exact.tokenizer(long)["input_ids"]) > 2 * exact.context_length
    assert 1 <= perplexity(long, exact) < 10  # the memorised paragraphs stay predictable in every window
    with pytest.raises(ValueError, match="at least two tokens"):
        perplexity("a", exact)


@pytest.mark.parametrize("capability,expected", [((7, 5), "fp16"), ((7, 0), "fp16"), ((8, 0), "bf16"), ((8, 9), "bf16"),
                                                 ((9, 0), "bf16")])
def test_auto_on_a_gpu_is_bf16_only_where_the_hardware_has_it(capability, expected, monkeypatch):
    # The capability query is the one thing a CPU cannot answer, so the test answers it: a T4 (7.5),
    # Colab's free GPU, would run bf16 emulated and slowly, so it gets fp16.
    asked = []
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: asked.append(device) or capability)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)  # what the old rule asked: always yes
    assert precision.resolve_dtype("auto", torch.device("cuda")) == expected
    assert asked == [torch.device("cuda")]


# --- half precision's overflow (GPT-Neo in fp16, transformers issue 11076) ---------------------------

@pytest.fixture(scope="module")
def overflowing_folder(tiny_folder, tmp_path_factory):
    """The tiny GPT-Neo with its MLP outputs scaled 200,000x: finite in fp32, past fp16's 65,504 in fp16."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_folder, dtype=torch.float32)
    with torch.no_grad():
        for block in model.transformer.h:
            block.mlp.c_proj.weight.mul_(200_000)
    folder = tmp_path_factory.mktemp("overflowing")
    model.save_pretrained(folder)
    for f in tiny_folder.glob("*token*"):
        (folder / f.name).write_bytes(f.read_bytes())
    return folder


def _really_half(folder, monkeypatch):
    # On the CPU blogneo's fp16 is packed weights with fp32 arithmetic, which cannot overflow. A GPU
    # computes in fp16 through and through; with packing switched off, the CPU does the same here
    # (PyTorch's CPU kernels run real half precision), so the GPU's path runs on a machine without one.
    from blogneo import loading

    monkeypatch.setattr(loading, "PACKED_ON_CPU", ())
    return blogneo.load(folder, device="cpu", dtype="fp16")


def test_an_fp16_model_that_overflows_on_the_probe_falls_back_to_fp32_once(overflowing_folder, monkeypatch, capsys):
    from transformers import AutoModelForCausalLM

    from blogneo.precision import overflows

    half = AutoModelForCausalLM.from_pretrained(overflowing_folder, dtype=torch.float16)
    ids = torch.tensor([[5, 6, 7, 8]])
    assert overflows(half, ids) and not overflows(half.float(), ids)  # a real overflow, and only in fp16
    model = _really_half(overflowing_folder, monkeypatch)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and "overflowed on a short probe in fp16" in lines[0] and "fp32" in lines[0]
    assert model.precision == "fp32" and next(model.model.parameters()).dtype == torch.float32
    [c] = blogneo.generate("The old lighthouse", model=model, seed=1, max_new_tokens=8)
    assert c.new_tokens >= 1 and capsys.readouterr().out == ""  # once: no second message


def test_an_overflow_during_a_run_is_one_note_and_the_run_finishes_in_fp32(overflowing_folder, monkeypatch, capsys,
                                                                            tmp_path):
    import shutil

    from blogneo import loading

    monkeypatch.setattr(loading, "overflows", lambda model, ids: False)  # the probe passes, as on a short text
    folder = shutil.copytree(overflowing_folder, tmp_path / "copy")  # not the model the test above made fp32
    model = _really_half(folder, monkeypatch)
    assert model.precision == "fp16" and model.dtype == torch.float16
    notes = []
    s = blogneo.stream("The old lighthouse", model=model, seed=1, max_new_tokens=12, temperature=0.9,
                       progress=notes.append)
    text = "".join(s)
    [c] = s.result()
    assert capsys.readouterr().out == ""  # said to the run's own callback, not printed
    assert len(notes) == 1 and "overflowed while writing in fp16" in notes[0]
    assert "probability tensor" not in notes[0] and c.new_tokens >= 1 and model.precision == "fp32"
    assert c.text.strip() and c.text.strip()[:20] in text  # the stream shows the fp32 run's text



@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU: measures the GPU's own memory")
def test_on_a_gpu_the_bandwidth_is_measured_on_the_gpu():
    gpu = memory_bandwidth("cuda", megabytes=64, repeats=3)
    assert gpu > memory_bandwidth("cpu", megabytes=64, repeats=3)  # any GPU's memory outruns its host's
