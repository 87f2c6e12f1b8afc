"""Ctrl+C and SIGTERM for the studio's servers: both stop it, whenever they come, and neither leaves one running.

``blogneo app`` starts a server (Voila in a process of its own, or Gradio in this one) and must stop it on
Ctrl+C (SIGINT) or SIGTERM, whenever that comes: while the server starts, while it serves, or while it is being
stopped. Python raises ``KeyboardInterrupt`` between any two bytecodes, so an interrupt in the instant between a
process starting and its handle being kept, or in the middle of stopping it, would leave a server running and
the command exiting 130. So the servers run inside ``held()``: a signal is only noted, and the code that waits
for one looks at the note.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable, Iterator

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def _blocked() -> Iterator[None]:
    """Both signals wait at the door (the thread's mask) while handlers are swapped, so none lands in between."""
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, ())  # read only: a pending signal raising here changes nothing
    try:
        signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def _restore(before: dict) -> None:
    with _blocked():
        for number, handler in before.items():
            signal.signal(number, handler)


@contextlib.contextmanager
def held() -> Iterator[list[int]]:
    """Inside the block, Ctrl+C and SIGTERM are noted, not raised; the list yielded says which came.

    The handlers in place before are back when the block ends, whatever happens in it; a signal that comes while
    they are swapped waits and is noted (going in) or handled by them (going out). Only the main thread can set
    handlers, so elsewhere nothing is held (the list stays empty). Nor is a signal this process ignores (started in
    the background by a shell, SIGINT is), nor one whose handler was set outside Python, which could not be put back.

    Example:
        >>> import os
        >>> before = signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal
        >>> with held() as came:
        ...     os.kill(os.getpid(), signal.SIGINT)  # no KeyboardInterrupt here
        >>> came == [signal.SIGINT], signal.getsignal(signal.SIGINT) is signal.default_int_handler
        (True, True)
        >>> _ = signal.signal(signal.SIGINT, before)
    """
    came: list[int] = []
    before: dict[int, object] = {}
    if threading.current_thread() is threading.main_thread():
        try:
            with _blocked():
                for number in _SIGNALS:
                    if signal.getsignal(number) not in (None, signal.SIG_IGN):
                        before[number] = signal.signal(number, lambda signum, frame: came.append(signum))
        except BaseException:
            _restore(before)
            raise
    try:
        yield came
    finally:
        _restore(before)


def wait(came: list[int], running: Callable[[], bool] = lambda: True) -> None:
    """Wait, a fifth of a second at a time, until a signal is noted in ``came`` (from ``held()``) or ``running()``
    turns false: the servers' wait loop, in one place.

    Example:
        >>> wait([signal.SIGINT]), wait([], running=lambda: False)  # returns at once in both cases
        (None, None)
    """
    while not came and running():
        time.sleep(0.2)


__all__ = ["held", "wait"]
