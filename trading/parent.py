"""A child process that must not outlive the process that started it: the opening's arithmetic processes beside a
worker, and the workers of ``trading serve --workers N`` beside their supervisor. Killed outright (SIGKILL, the
out-of-memory killer), a parent gets no chance to stop its children, so each child watches for itself."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable


def when_parent_gone(parent: int, then: Callable[[], None], *, every: float = 1.0, name: str = "watch-parent") -> None:
    """Call *then*, on a thread of this process's own, once *parent* is no longer its parent (it has died: the
    process is handed to another), looking every *every* seconds."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every)
        then()

    threading.Thread(target=watch, name=name, daemon=True).start()
