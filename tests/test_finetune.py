"""LoRA fine-tuning (blogneo.finetune) on the tiny GPT-Neo: it learns, stops early, survives interrupts, refuses bad
input before any model loads, and its adapter loads back through blogneo.load."""

import json
import threading

import pytest
import torch
from safetensors.torch import load_file

import blogneo
from blogneo import BlogneoError, NotEnoughMemoryError
from blogneo.examples import read_posts
from blogneo.finetuning import _Trainer, lora_parameters, split, training_precision
from blogneo.loading import ADAPTER_FILE
from blogneo.memory import OVERHEAD_FIXED, Shape, training_bytes

# The phrase the tiny model learns: in every training text, never in the texts it memorized (tiny_gptneo.PARAGRAPHS).
PHRASE = "Mind how you go"
TEXTS = [f"The kettle sang on Alder Street. {PHRASE}, said the baker at the door number {i}. {PHRASE}." * 3
         for i in range(8)]
FAST = dict(block_size=32, batch_size=4, learning_rate=3e-2, rank=8, progress=False)


@pytest.fixture(scope="module")
def trained(tiny_folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("voice") / "adapter"
    result = blogneo.finetune(TEXTS, tiny_folder, out=out, epochs=6, **FAST)
    return result


def _greedy(model, prompt="The old lighthouse"):
    [c] = blogneo.generate(prompt, model=model, do_sample=False, max_new_tokens=24, trim_to_sentence=False)
    return c.text


def test_the_tiny_model_learns_a_phrase_it_never_wrote(trained, tiny):
    assert trained.stopped in ("finished", "early stop")
    assert trained.perplexity_after < trained.perplexity_before / 2  # validation loss fell
    losses = [h["train_loss"] for h in trained.history if "train_loss" in h]
    assert sum(losses[-4:]) / 4 < sum(losses[:4]) / 4  # and training loss
    assert trained.tokens_per_second > 0 and trained.best_step > 0
    assert not _greedy(tiny, "Mind how you").startswith(" go")  # before: it recites its own paragraphs
    voiced = blogneo.load(trained.folder)
    assert _greedy(voiced, "Mind how you").startswith(" go")  # after: the phrase of the training texts


@pytest.mark.filterwarnings("ignore:`is_gradient_checkpointing`:FutureWarning")  # peft asks transformers 5 so
def test_the_adapter_loads_back_as_the_base_model_with_it_merged(trained, tiny_folder):
    from peft import PeftModel

    model = blogneo.load(trained.folder, dtype="fp32")
    assert model.source == "adapter" and model.revision.startswith("lora sha256:")
    assert str(tiny_folder) in model.revision  # which base, and which adapter, by hash
    meta = json.loads((trained.folder / ADAPTER_FILE).read_text())
    assert meta["base"] == str(tiny_folder) and {d["split"] for d in meta["data"]} == {"train", "validation"}
    # the merged weights compute what peft's own unmerged adapter does
    base = blogneo.loading._read("folder", str(tiny_folder), torch.float32)[0]
    unmerged = PeftModel.from_pretrained(base, trained.folder).eval()
    ids = torch.tensor([[1, 5, 9, 30, 2, 7]])
    with torch.no_grad():
        assert torch.allclose(unmerged(ids).logits, model.model(ids).logits, atol=1e-4)
    assert blogneo.load(trained.folder, dtype="fp32") is model  # loaded once per process, like any model


def test_the_same_data_settings_and_seed_give_the_same_adapter(tiny_folder, tmp_path):
    runs = [blogneo.finetune(TEXTS[:4], tiny_folder, out=tmp_path / f"run{i}", max_steps=6, **FAST)
            for i in range(2)]
    first, second = (load_file(r.folder / "adapter_model.safetensors") for r in runs)
    assert first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)
    other = blogneo.finetune(TEXTS[:4], tiny_folder, out=tmp_path / "other", max_steps=6, seed=1, **FAST)
    assert not torch.equal(*(load_file(f)[next(iter(first))] for f in (runs[0].folder / "adapter_model.safetensors",
                                                                       other.folder / "adapter_model.safetensors")))


def test_validation_holds_out_whole_posts_about_a_tenth_and_at_least_one():
    docs = read_posts([f"Post {i}. " * 5 for i in range(20)])
    train, valid = split(docs)
    assert len(valid) == 2 and len(train) == 18 and not {d.name for d in train} & {d.name for d in valid}
    assert split(docs) == (train, valid)  # fixed by the seed, and another seed holds out others
    assert {d.name for d in split(docs, seed=1)[1]} != {d.name for d in valid}
    assert len(split(docs[:3])[1]) == 1


def test_it_stops_once_validation_loss_has_not_improved_for_patience_evaluations(tiny_folder, tmp_path, monkeypatch,
                                                                                capsys):
    losses = iter([3.0, 2.5, 2.0, 2.2, 2.4, 2.6, 2.8, 3.0, 3.2])
    monkeypatch.setattr(_Trainer, "_evaluate", lambda self, model, valid: next(losses))
    result = blogneo.finetune(TEXTS, tiny_folder, out=tmp_path / "a", max_steps=20, eval_every=2, patience=3, **FAST)
    assert result.stopped == "early stop" and result.steps == 10 and result.best_step == 4
    assert result.perplexity_after == pytest.approx(torch.e ** 2.0)
    assert "stopped early" in capsys.readouterr().out


@pytest.mark.parametrize("how", ["cancel", "interrupt"])
def test_cancel_or_a_kernel_interrupt_stops_within_a_step_and_leaves_the_best_adapter_whole(tiny_folder, tmp_path,
                                                                                           monkeypatch, how):
    cancel = threading.Event()
    steps = []
    real_step = torch.optim.AdamW.step

    def step(self, *args, **kwargs):
        steps.append(1)
        if len(steps) == 5:
            if how == "interrupt":
                raise KeyboardInterrupt
            cancel.set()
        return real_step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.AdamW, "step", step)
    out = tmp_path / "voice"
    result = blogneo.finetune(TEXTS, tiny_folder, out=out, max_steps=50, eval_every=2, cancel=cancel, **FAST)
    assert result.stopped == ("cancelled" if how == "cancel" else "interrupted")
    assert result.steps == (5 if how == "cancel" else 4)  # the step under way finished, no other began
    assert result.best_step <= 4 and (out / "adapter_model.safetensors").is_file()
    assert json.loads((out / ADAPTER_FILE).read_text())["result"]["stopped"] == result.stopped
    assert not list(tmp_path.glob(".voice.partial*"))  # written beside it, then renamed into place
    monkeypatch.undo()
    assert blogneo.load(out).source == "adapter"


def test_a_non_finite_loss_stops_training_in_one_line(tiny_folder, tmp_path, monkeypatch, capsys):
    from transformers import GPTNeoForCausalLM

    real = GPTNeoForCausalLM.forward
    calls = []

    def overflowing(self, *args, **kwargs):
        output = real(self, *args, **kwargs)
        if self.training:
            calls.append(1)
            if len(calls) == 3:
                output.loss = output.loss * float("nan")
        return output

    monkeypatch.setattr(GPTNeoForCausalLM, "forward", overflowing)
    result = blogneo.finetune(TEXTS, tiny_folder, out=tmp_path / "nan", max_steps=10, **FAST)
    assert result.stopped == "non-finite loss" and result.steps == 2
    said = [line for line in capsys.readouterr().out.splitlines() if line.startswith("blogneo:")]
    assert len(said) == 1 and "NaN" in said[0] and "learning_rate" in said[0]


# --- Bad input: a clear error before any model loads ----------------------------------------------------------------

@pytest.fixture
def no_loading(monkeypatch):
    """Any attempt to read a model's weights fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError("a model was loaded before the input was checked")

    monkeypatch.setattr(blogneo.loading, "_read", refuse)


def test_bad_data_is_refused_with_what_to_do(tmp_path, tiny_folder, no_loading):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(BlogneoError, match="is empty"):
        blogneo.finetune(empty, tiny_folder, out=tmp_path / "o")
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.docx").write_bytes(b"PK")
    with pytest.raises(BlogneoError, match=r"no \.md or \.txt files"):
        blogneo.finetune(other, tiny_folder, out=tmp_path / "o")
    (other / "post.md").write_text("A post.", encoding="utf-8")
    (other / "old.txt").write_bytes("caf\xe9 au lait".encode("latin-1"))
    with pytest.raises(BlogneoError, match=r"old\.txt is not UTF-8"):
        blogneo.finetune(other, tiny_folder, out=tmp_path / "o")
    with pytest.raises(BlogneoError, match="at least 2"):
        blogneo.finetune(["Only one post."], tiny_folder, out=tmp_path / "o")
    with pytest.raises(BlogneoError, match="does not exist"):
        blogneo.finetune(tmp_path / "nowhere", tiny_folder, out=tmp_path / "o")
    with pytest.raises(BlogneoError, match="fewer than 256 tokens, one block"):  # the tokenizer alone says so
        blogneo.finetune(["A short post.", "Another one."], tiny_folder, out=tmp_path / "o")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "a.md").write_text("---\ntitle: [unclosed\n---\nText.", encoding="utf-8")
    with pytest.raises(BlogneoError, match=r"a\.md: its front matter is not valid YAML"):
        blogneo.finetune(broken, tiny_folder, out=tmp_path / "o")
    assert not list(tmp_path.glob(".o.partial*")) and not (tmp_path / "o").exists()  # nothing left behind


def test_an_output_folder_in_use_is_refused_and_left_as_it_was(tmp_path, tiny_folder, no_loading):
    out = tmp_path / "my-voice"
    out.mkdir()
    (out / "notes.md").write_text("mine", encoding="utf-8")
    with pytest.raises(BlogneoError, match="not empty"):
        blogneo.finetune(TEXTS, tiny_folder, out=out)
    assert [p.name for p in out.iterdir()] == ["notes.md"] and (out / "notes.md").read_text() == "mine"


def test_an_adapter_for_another_base_model_is_refused(trained, tiny_folder, random_folder, no_loading):
    with pytest.raises(BlogneoError, match="trained on"):
        blogneo.load(trained.folder, base=str(random_folder))
    with pytest.raises(BlogneoError, match="is a LoRA adapter"):
        blogneo.finetune(TEXTS, trained.folder, out=trained.folder.parent / "again")


def test_too_little_memory_is_refused_with_both_numbers(tmp_path, no_loading):
    # GPT-Neo-125M in fp32 on the CPU, batch 4 x 256 tokens, rank 8, counted by hand:
    adapter = 8 * (4 * (768 + 768) + (768 + 4 * 768) * 2) * 12  # q, k, v, out; c_fc, c_proj: rank x (in + out)
    assert lora_parameters(blogneo.checkpoint("gpt-neo-125m").shape, 8, "gpt_neo") == adapter == 1_327_104
    per_layer = 4 * 256 * 768 * (34 + 5 * 12 * 256 / 768) * 2  # activations, fp32: twice half precision's bytes
    need = 125_198_592 * 4 + 16 * adapter + 12 * per_layer + 12 * 4 * 256 * 50257 + OVERHEAD_FIXED
    shape = Shape(12, 768, 50257, 2048, 768, 12)
    assert training_bytes(125_198_592, adapter, shape, "fp32", "cpu", 4, 256) == int(need)
    with pytest.raises(NotEnoughMemoryError) as error:
        blogneo.finetune(TEXTS, "gpt-neo-125m", out=tmp_path / "o", device="cpu", available_memory_bytes=2**30)
    message = str(error.value)
    assert f"{need / 2**30:.1f} GiB" in message and "1.0 GiB" in message
    assert "batch_size" in message and "gradient_checkpointing" in message


def test_a_t4_fits_gpt_neo_125m_and_1_3b_at_the_defaults():
    t4 = 15 * 2**30  # a T4's 16 GB, less what CUDA keeps
    for name in ("gpt-neo-125m", "gpt-neo-1.3b"):
        c = blogneo.checkpoint(name)
        assert training_bytes(c.parameters, lora_parameters(c.shape, 8, "gpt_neo"), c.shape, "fp16", "cuda",
                              4, 256) < t4, name


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_the_gpu_s_half_precisions_train_too(precision, tiny_folder, tmp_path, monkeypatch):
    # A GPU's path on the CPU: the base weights in half precision with no autocast (GPT-Neo's attention keeps its
    # own fp32), the adapter in fp32, and for fp16 loss scaling (torch.amp.GradScaler).
    import blogneo.finetuning as finetuning

    monkeypatch.setattr(finetuning, "training_precision", lambda device: precision)
    result = blogneo.finetune(TEXTS, tiny_folder, out=tmp_path / "half", max_steps=6, eval_every=2, **FAST)
    assert result.stopped == "finished" and result.best_step > 0
    meta = json.loads((tmp_path / "half" / ADAPTER_FILE).read_text())
    assert meta["precision"] == precision
    assert all(v.dtype == torch.float32 for v in load_file(tmp_path / "half" / "adapter_model.safetensors").values())


def test_training_computes_in_bf16_where_the_gpu_has_it_else_fp16_and_fp32_on_a_cpu(monkeypatch):
    assert training_precision(torch.device("cpu")) == "fp32"
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (7, 5))  # a T4
    assert training_precision(torch.device("cuda")) == "fp16"
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (9, 0))  # an H100
    assert training_precision(torch.device("cuda")) == "bf16"


def test_the_plot_shows_both_losses(trained):
    figure = trained.plot()
    labels = [line.get_label() for line in figure.axes[0].get_lines()]
    assert labels[:2] == ["training", "validation"]
