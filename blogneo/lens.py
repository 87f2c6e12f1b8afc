"""Next-token probabilities before and after each sampling step, for plots.

The steps are transformers' own logits processors, built by the model from the same
``GenerationConfig`` that ``generate`` uses and applied in the same order. So a plot of
"after top_p" shows exactly what sampling draws from.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .loading import LoadedModel, load
from .prompts import encode
from .sampling import SamplingParams, resolve_params

# transformers' class names, as the SamplingParams field each one comes from.
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


def next_token_lens(prompt: str, params: SamplingParams | str | None = None,
                    model: LoadedModel | str | None = None, top: int = 12, **overrides) -> Lens:
    """The next-token distribution for ``prompt``, before and after each sampling step.

    Example:
        >>> lens = next_token_lens("The capital of France is", temperature=0.7, top_k=5)
        >>> [s.name for s in lens.steps]
        ['model', 'repetition_penalty', 'temperature', 'top_k', 'top_p']
        >>> lens.step("top_k").kept()
        5
    """
    model = model if isinstance(model, LoadedModel) else load(model)
    params = resolve_params(params, **overrides)
    input_ids = encode(model, prompt, params.max_new_tokens).to(model.device)
    config = params.to_generation_config(prompt_tokens=input_ids.shape[1])
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
