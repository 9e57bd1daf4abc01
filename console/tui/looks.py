"""Two threads for the console's small reads made every second — the change feed, the P1 look — and the changes
they bring.

A Textual thread worker would do, but its bookkeeping (a worker object, an asyncio task, three state messages
dispatched on the UI thread) costs about half a millisecond of CPU, several times the read itself: once a second per
look, on every console of a floor. These threads cost a queue hand-off. They are daemon threads: one blocked on a
busy database never holds the console open after it quits.
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Callable, Hashable

THREADS = 2  # a slow read (a refresh behind a writer) does not hold up the next look


class Looks:
    def __init__(self, failed: Callable[[BaseException], None]) -> None:
        """``failed`` is called (in the job's thread) with what a job raised: the app treats it as a worker's error."""
        self._failed = failed
        self._jobs: queue.SimpleQueue[tuple[Hashable | None, contextvars.Context, Callable[[], object]]] = (
            queue.SimpleQueue()
        )
        self._lock = threading.Lock()
        self._running: set[Hashable] = set()
        self._pending = 0  # jobs queued or running (tests wait for none)
        self._threads: list[threading.Thread] = []

    def run(self, job: Callable[[], object], key: Hashable | None = None) -> bool:
        """Run ``job`` on a look thread, in a copy of the caller's context (the active app, as Textual's thread
        workers have it: a screen finds its app even once it has left the screen stack). With a ``key``, not while
        the last job of that key is queued or running (then False: a look that finds the previous one still reading
        has nothing to add)."""
        with self._lock:
            if key is not None:
                if key in self._running:
                    return False
                self._running.add(key)
            self._pending += 1
            if len(self._threads) < THREADS:
                thread = threading.Thread(target=self._serve, name=f"look-{len(self._threads)}", daemon=True)
                self._threads.append(thread)
                thread.start()
        self._jobs.put((key, contextvars.copy_context(), job))
        return True

    @property
    def idle(self) -> bool:
        """No job queued or running."""
        return self._pending == 0

    def _serve(self) -> None:
        while True:
            key, context, job = self._jobs.get()
            try:
                context.run(job)
            except BaseException as exc:  # handed to the app, as a worker's error would be
                self._failed(exc)
            finally:
                with self._lock:
                    self._pending -= 1
                    if key is not None:
                        self._running.discard(key)
