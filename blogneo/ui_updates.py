"""Widget updates from worker threads, made on the kernel's main thread.

Colab does not render widget changes made from a background thread (googlecolab/colabtools
issue 3373): they show only when something on the main thread sends state. So the studio's
workers never touch a widget; they hand each update to ``MainThread``, which runs it on the main
thread: at once when the kernel's event loop is free (``call_soon_threadsafe`` on the loop that
was running when the studio was made), or when the main thread waits in ``Studio.wait``.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable


class MainThread:
    """Calls handed to it from any thread run on the main thread, in the order they were handed over."""

    def __init__(self, on_error: Callable[[Exception], None]):
        try:
            self._loop = asyncio.get_running_loop()  # the kernel's loop, in a notebook, Voila or Colab
        except RuntimeError:
            self._loop = None  # plain Python (a script, a test): Studio.wait runs the updates
        self._pending: queue.SimpleQueue = queue.SimpleQueue()
        self._on_error = on_error

    def __call__(self, function: Callable, *args) -> None:
        self._pending.put((function, args))
        if threading.current_thread() is threading.main_thread():
            self.run_pending()
        elif self._loop is not None and not self._loop.is_closed():
            try:
                self._loop.call_soon_threadsafe(self.run_pending)
            except RuntimeError:  # the loop closed meanwhile: Studio.wait runs them
                pass

    def run_pending(self) -> None:
        """Run every update handed over so far; on the main thread only (elsewhere it does nothing)."""
        if threading.current_thread() is not threading.main_thread():
            return
        while True:
            try:
                function, args = self._pending.get_nowait()
            except queue.Empty:
                return
            try:
                function(*args)
            except Exception as error:  # noqa: BLE001 - an update must not stop the ones after it
                self._on_error(error)

    def empty(self) -> bool:
        return self._pending.empty()
