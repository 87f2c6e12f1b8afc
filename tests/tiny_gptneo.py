"""A tiny GPT-Neo and tokenizer, built from nothing so that no test downloads anything.

Same architecture as EleutherAI's checkpoints (alternating global and local attention, a
byte-level BPE tokenizer with <|endoftext|>), a few hundred times smaller. It is trained for a
few seconds on the paragraphs below, so greedy decoding recites them: that makes stop strings,
end-of-text and sentence trimming testable with certainty, not by luck.
"""

from __future__ import annotations

from pathlib import Path

import torch
from tokenizers import ByteLevelBPETokenizer
from transformers import GPTNeoConfig, GPTNeoForCausalLM, PreTrainedTokenizerFast

EOS = "<|endoftext|>"
PARAGRAPHS = [
    "The old lighthouse stood on the rocks above the bay. Every night its lamp turned slowly, "
    "and the ships passed safely into the harbour. The keeper wrote in his log each morning.",
    "Baking bread takes patience. Mix the flour with water and salt, then let the dough rest "
    "for an hour. Bake it in a hot oven until the crust is golden and the kitchen smells warm.",
    "Our team moved to a new office in the spring. The windows face the river, and at lunch "
    "we watch the boats go by. Everyone agrees that the coffee is better here.",
]


def make_tokenizer(model_max_length: int = 256) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer like GPT-Neo's, trained on PARAGRAPHS in well under a second."""
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(PARAGRAPHS, vocab_size=400, min_frequency=1, special_tokens=[EOS])
    return PreTrainedTokenizerFast(tokenizer_object=bpe._tokenizer, bos_token=EOS, eos_token=EOS,
                                   unk_token=EOS, model_max_length=model_max_length)


def build(folder: Path, steps: int = 300, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    tokenizer = make_tokenizer()
    eos_id = tokenizer.convert_tokens_to_ids(EOS)
    config = GPTNeoConfig(
        vocab_size=len(tokenizer), hidden_size=64, num_layers=4, num_heads=4,
        attention_types=[[["global", "local"], 2]], window_size=16, max_position_embeddings=256,
        intermediate_size=256, bos_token_id=eos_id, eos_token_id=eos_id,
    )
    model = GPTNeoForCausalLM(config)
    _memorise(model, tokenizer, eos_id, steps)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _memorise(model, tokenizer, eos_id: int, steps: int) -> None:
    rows = [tokenizer(p)["input_ids"] + [eos_id] for p in PARAGRAPHS]
    width = max(map(len, rows))
    batch = torch.tensor([r + [eos_id] * (width - len(r)) for r in rows])
    optimiser = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(steps):
        loss = model(input_ids=batch, labels=batch).loss
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    model.eval()


if __name__ == "__main__":  # `python tests/tiny_gptneo.py FOLDER`: the Makefile's GPT-Neo run of the notebooks
    import sys

    print(build(Path(sys.argv[1])))
