"""Ctrl+C and SIGTERM for the studio's servers: both stop it, and neither lands where it would leave one running.

``blogneo app`` starts a server (Voila in a process of its own, or Gradio in this one) and must stop it on
Ctrl+C (SIGINT) or SIGTERM, whenever that comes: while the server is starting, while it serves, or while it is
being stopped. Python raises ``KeyboardInterrupt`` between any two bytecodes, so an interrupt in the instant
between a process starting and its handle being kept, or in the middle of stopping it, would leave a server
running and the command exiting 130. The few steps where that matters run with interrupts held.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def raise_interrupt(signum, frame):
    """A signal handler: SIGTERM stops the server as Ctrl+C does."""
    raise KeyboardInterrupt


@contextlib.contextmanager
def held() -> Iterator[list[int]]:
    """Inside the block, Ctrl+C and SIGTERM are noted, not raised; the list yielded says which came.

    The handlers in place before are back when the block ends, whatever happens in it. Only the main thread
    can set handlers, so elsewhere nothing is held (the list stays empty).

    Example:
        >>> import os
        >>> with held() as came:
        ...     os.kill(os.getpid(), signal.SIGINT)  # no KeyboardInterrupt here
        >>> came == [signal.SIGINT]
        True
    """
    came: list[int] = []
    try:
        before = {number: signal.signal(number, lambda signum, frame: came.append(signum)) for number in _SIGNALS}
    except ValueError:  # not the main thread
        before = {}
    try:
        yield came
    finally:
        for number, handler in before.items():
            signal.signal(number, handler)


__all__ = ["held", "raise_interrupt"]
