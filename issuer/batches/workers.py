"""What every pool worker of this package does first: follow its parent out.

A parent killed with ``kill -9`` never shuts its process pools down, and their workers
would wait for work forever. ``follow_parent`` starts a daemon thread that ends the
worker as soon as its parent is gone. The signing pool (``signing``) and the printing
pool (``printing``) both call it from their initializers.
"""

from __future__ import annotations

import os
import threading
import time

__all__ = ["exit_with_parent", "follow_parent"]


def exit_with_parent(parent: int) -> None:
    """End this worker when its parent is gone (killed parents do not shut pools down)."""
    while os.getppid() == parent:
        time.sleep(0.2)
    os._exit(1)


def follow_parent() -> None:
    """Start the thread that ends this worker when its parent process is gone."""
    threading.Thread(target=exit_with_parent, args=(os.getppid(),), daemon=True).start()
