"""Next-token probabilities before and after each sampling step, for plots.

The steps are transformers' own logits processors, built by the model from the same
``GenerationConfig`` that ``generate`` uses and applied in the same order. So a plot of
"after top_p" shows exactly what sampling draws from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .display import probability_html
from .generation import generation_config
from .loading import LoadedModel, loaded
from .prompts import check_prompt, encode, text_ids, under_heading
from .sampling import SamplingParams, resolve_params

# transformers' class names, as the SamplingParams field each one comes from. The lens asks the
# model for its processors through transformers' private ``_prepare_special_tokens`` and
# ``_get_logits_processor``, the one place that builds them from a GenerationConfig exactly as
# ``generate`` does. Checked with transformers 5.24 (here) and 5.17 (the GPU machine);
# tests/test_lens.py fails loudly if a release renames either method or a processor class.
_STEP_NAMES = {
    "RepetitionPenaltyLogitsProcessor": "repetition_penalty",
    "NoRepeatNGramLogitsProcessor": "no_repeat_ngram_size",
    "MinNewTokensLengthLogitsProcessor": "min_new_tokens",
    "TemperatureLogitsWarper": "temperature",
    "TopKLogitsWarper": "top_k",
    "TopPLogitsWarper": "top_p",
    "MinPLogitsWarper": "min_p",
    "TypicalLogitsWarper": "typical_p",
}


@dataclass(frozen=True)
class LensStep:
    """The next-token distribution after one step; ``name`` is the SamplingParams field ("model" first)."""

    name: str
    probs: torch.Tensor  # over the whole vocabulary, sums to 1

    def kept(self) -> int:
        """How many tokens still have a chance after this step."""
        return int((self.probs > 0).sum())


@dataclass(frozen=True)
class Lens:
    """What the model would draw next for ``prompt``, step by step."""

    prompt: str
    steps: list[LensStep]
    token_ids: list[int]  # the likeliest tokens under the model, the ones worth plotting
    tokens: list[str]  # those tokens as text

    def step(self, name: str) -> LensStep:
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(f"No step {name!r}; this lens has {[s.name for s in self.steps]}.")

    def rows(self) -> list[tuple[str, list[float]]]:
        """(step name, probability of each of ``tokens``) for every step, for tables and plots."""
        return [(s.name, [float(s.probs[i]) for i in self.token_ids]) for s in self.steps]

    def plot(self, name: str, ax=None):
        """Bars for the likeliest tokens before and after step ``name``; returns the matplotlib Figure.

        A step that is not in this lens (e.g. ``temperature`` at 1.0, which transformers skips)
        is drawn as what it is: no change. Pass ``ax`` to draw into a figure of your own.
        """
        import matplotlib.pyplot as plt

        names = [s.name for s in self.steps]
        if name in names:
            after = self.steps[names.index(name)]
            before = self.steps[names.index(name) - 1] if name != "model" else None
            if before is None:
                title = f"the model: {after.kept():,} possible next tokens"
            elif before.kept() != after.kept():
                title = f"{name}: {before.kept():,} → {after.kept():,} possible next tokens"
            else:
                title = f"{name}: all {after.kept():,} tokens stay possible, with new probabilities"
        else:
            before = after = self.steps[-1]
            title = f"{name} is off here, so it changes nothing"
        if ax is None:
            fig, ax = plt.subplots(figsize=(8, 3))
            plt.close(fig)  # shown once, as the return value, not a second time by the inline backend
        x = range(len(self.token_ids))
        if before is not None:
            ax.bar([i - 0.2 for i in x], [float(before.probs[t]) for t in self.token_ids], 0.4,
                   color="#b8b8b8", label="before")
        ax.bar([i + (0.2 if before is not None else 0) for i in x], [float(after.probs[t]) for t in self.token_ids],
               0.4, color="#d9534f", label="after" if before is not None else "probability")
        ax.set_xticks(list(x), [repr(t) for t in self.tokens], rotation=45, ha="right")
        ax.set_ylabel("probability")
        ax.set_ylim(0, 1.05 * max(float(s.probs[self.token_ids].max()) for s in (before, after) if s is not None))
        ax.set_title(title, fontsize=10)
        ax.legend(frameon=False)
        ax.figure.tight_layout()
        return ax.figure


@dataclass(frozen=True)
class ScoredText:
    """A text split into tokens, each with the probability the model gave it in context.

    Displayed in a notebook, the tokens are coloured from red (unlikely) to green (expected).
    """

    tokens: list[str]
    probs: list[float]

    def mean_logprob(self) -> float:
        """Mean natural-log probability per token: closer to 0 reads more fluent to the model."""
        return sum(math.log(max(p, 1e-45)) for p in self.probs) / max(len(self.probs), 1)

    def _repr_html_(self) -> str:
        return probability_html(self.tokens, self.probs)

    def __repr__(self) -> str:
        return (f"ScoredText({len(self.tokens)} tokens, mean probability "
                f"{sum(self.probs) / max(len(self.probs), 1):.0%}, mean log-probability {self.mean_logprob():.2f})")


def next_token_lens(prompt: str, params: SamplingParams | str | None = None,
                    model: LoadedModel | str | None = None, top: int = 12, reply: str = "", **overrides) -> Lens:
    """The next-token distribution for ``prompt``, before and after each sampling step.

    ``reply`` is text the answer has already started with (see ``blogneo.prompts.encode``): the
    lens then shows what comes next in the middle of a text, where repetition penalties bite.

    Example:
        >>> lens = next_token_lens("The capital of France is", temperature=0.7, top_k=5)
        >>> [s.name for s in lens.steps]
        ['model', 'repetition_penalty', 'temperature', 'top_k', 'top_p']
        >>> lens.step("top_k").kept()
        5
    """
    check_prompt(prompt)
    params = resolve_params(params, **overrides)  # bad input fails here, before any model loads
    model = loaded(model)
    input_ids = encode(model, prompt, params.max_new_tokens, reply=reply).to(model.device)
    config = generation_config(model, params, input_ids.shape[1], under_heading(model, prompt, reply))
    # As generate does first: special tokens as tensors, which min_new_tokens' processor needs.
    model.model._prepare_special_tokens(config, kwargs_has_attention_mask=True, device=model.device)
    processors = model.model._get_logits_processor(
        generation_config=config, input_ids_seq_length=input_ids.shape[1], device=model.device)
    with model.lock, torch.inference_mode():
        scores = model.model(input_ids).logits[:, -1, :].float()
        steps = [LensStep("model", scores.softmax(-1)[0].cpu())]
        for processor in processors:
            scores = processor(input_ids, scores.clone())
            name = _STEP_NAMES.get(type(processor).__name__, type(processor).__name__)
            steps.append(LensStep(name, scores.softmax(-1)[0].cpu()))
    token_ids = steps[0].probs.topk(top).indices.tolist()
    tokens = [model.tokenizer.decode([i]) for i in token_ids]
    return Lens(prompt=prompt, steps=steps, token_ids=token_ids, tokens=tokens)


def score_text(text: str, prompt: str, model: LoadedModel | str | None = None, reply: str = "") -> ScoredText:
    """How likely ``model`` found each token of ``text``, written as the answer to ``prompt``.

    ``reply`` is text the answer started with before ``text`` (see ``blogneo.prompts.encode``).

    The probabilities are the model's own (before any sampling step), from one forward pass.

    Example:
        >>> scored = score_text("Paris is the capital of France.", "Where is Paris?")
        >>> len(scored.tokens) == len(scored.probs)
        True
    """
    check_prompt(text, "text")
    check_prompt(prompt)
    model = loaded(model)
    ids = text_ids(model.tokenizer, text)
    prompt_ids = encode(model, prompt, len(ids), reply=reply).to(model.device)
    probs = _token_logprobs(model, prompt_ids, ids).exp()
    return ScoredText(tokens=[model.tokenizer.decode([i]) for i in ids], probs=probs.cpu().tolist())


def _token_logprobs(model: LoadedModel, context: torch.Tensor, ids: list[int]) -> torch.Tensor:
    """The log-probability of each of ``ids`` after ``context`` (a 1 x n tensor of ids), from one forward pass."""
    input_ids = torch.cat([context.to(model.device), torch.tensor([ids], device=model.device)], dim=1)
    with model.lock, torch.inference_mode():
        logits = model.model(input_ids).logits[0, context.shape[1] - 1:-1].float()
    return logits.log_softmax(-1).gather(1, input_ids[0, context.shape[1]:, None])[:, 0]


TOPIC_PAGE = "Blog post: {topic}\n\n"  # the page a part is read on, for topic_pmi
NEUTRAL_TOPIC = "A few thoughts"  # the topic it is compared with: says nothing of any subject


def topic_pmi(text: str, topic: str, model: LoadedModel | str | None = None) -> float:
    """How much likelier ``model`` finds ``text``, per token, on a page about ``topic`` than on a page
    about nothing in particular: the mean log-probability after ``TOPIC_PAGE`` with the topic, less
    the same with ``NEUTRAL_TOPIC``. Above 0 the topic made the text likelier; off-topic text scores
    near 0 or below. Plain text, no chat template, on every kind of model; two forward passes.

    Measured on the labelled pairs of ``tests/data/topic_pairs.jsonl`` (``benchmarks/topic_signal.py``,
    docs/quality.md): it ranks an on-topic part above an off-topic one far more often than the share
    of the topic's words does.

    Example:
        >>> topic_pmi("Knead the dough for ten minutes.", "Baking bread", "embedded") > topic_pmi(
        ...     "Check the tyre pressure weekly.", "Baking bread", "embedded")
        True
    """
    check_prompt(text, "text")
    check_prompt(topic, "topic")
    model = loaded(model)
    room = model.context_length // 4  # a topic longer than this is judged by its first tokens
    topic = model.tokenizer.decode(text_ids(model.tokenizer, topic.strip())[:room])
    pages = [text_ids(model.tokenizer, TOPIC_PAGE.format(topic=t)) for t in (topic, NEUTRAL_TOPIC)]
    # a text longer than the context is judged by as much of its start as fits beside either page
    ids = text_ids(model.tokenizer, " " + text.strip())[:model.context_length - max(map(len, pages))]

    on_topic, neutral = (_token_logprobs(model, torch.tensor([page]), ids).mean().item() for page in pages)
    return on_topic - neutral


def perplexity(text: str, model: LoadedModel | str | None = None) -> float:
    """The model's perplexity on ``text`` read as plain text: exp of the mean negative log-likelihood.

    Lower is better; it is how well the model predicts each next token. Text longer than the
    context is read in windows of the context's length. Compare precisions with it: the CPU
    default (fp16 weights) must stay within 3% of fp32.

    Example:
        >>> fp32 = perplexity(text, blogneo.load("embedded", dtype="fp32"))
        >>> fast = perplexity(text, blogneo.load("embedded"))
        >>> abs(fast / fp32 - 1) < 0.03
        True
    """
    check_prompt(text, "text")
    model = loaded(model)
    ids = text_ids(model.tokenizer, text)
    if len(ids) < 2:
        raise ValueError("Perplexity needs a text of at least two tokens.")
    window = model.context_length
    total, count = 0.0, 0
    with model.lock, torch.inference_mode():
        for start in range(0, len(ids) - 1, window - 1):
            chunk = torch.tensor([ids[start:start + window]], device=model.device)
            logits = model.model(chunk).logits[0, :-1].float()
            total += torch.nn.functional.cross_entropy(logits, chunk[0, 1:], reduction="sum").item()
            count += chunk.shape[1] - 1
    return math.exp(total / count)
