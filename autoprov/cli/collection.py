"""The cyclic garbage collector paused while autoprov itself starts and ends a run.

Before the program starts, ``python -m autoprov`` imports ~100 modules and compiles the filters:
tens of thousands of objects that live until the process ends, whose allocation triggered
collections rescanning the whole growing heap (callgrind, empty script: ~7 M instructions of
the ~0.25 G start-up and end of run).  Collection is paused from the command's dispatch until
just before the program's first line, and again while the record is completed at exit; the
program itself always runs with the collector as it found it.
"""

from __future__ import annotations

import gc

_resume = False  # the collector was on when autoprov paused it


def pause() -> None:
    """Stop automatic collection (if it is on) until :func:`resume`."""
    global _resume
    _resume = _resume or gc.isenabled()
    gc.disable()


def resume() -> None:
    """Turn automatic collection back on if :func:`pause` turned it off (idempotent)."""
    global _resume
    if _resume:
        _resume = False
        gc.enable()
