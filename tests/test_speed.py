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
