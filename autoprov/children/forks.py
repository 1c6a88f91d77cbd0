"""Forked children capture themselves: ``os.register_at_fork`` hooks.

Before a fork the forking thread notes the run and its current activity; in the child the
parent's capture is detached (the parent's log and record stay the parent's: ``session/capture.py``
detaches the run's first process, this module a child's) and a new capture starts, under the
activity that forked.  A fork made by ``multiprocessing`` starts its capture in the patched
``_bootstrap`` instead, which also ends it; any other fork ends it at exit, or in ``os._exit``,
which skips ``atexit`` and is patched in forked children to complete the log first.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from typing import Any

from . import live, set_live
from .context import ChildContext
from .patches import replace

_registered = False
_forking: tuple[str, int | None, Any] | None = None  # (key, act, Live) noted by the forking thread
_adopted: tuple[Any, Any] | None = None  # (recorder, engine) the run's first process hands over at fork
_inherited: tuple[ChildContext, Any, Any] | None = None  # in a multiprocessing fork: for _bootstrap
_starting = threading.local()  # .process: a multiprocessing child is being started by this thread


def starting_process(value: bool) -> None:
    """``Process.start`` brackets its fork with this: such a child starts capture in ``_bootstrap``."""
    _starting.process = value


def register() -> None:
    """Install the fork hooks once per process (they cannot be removed; idle without a capture)."""
    global _registered
    if not _registered:
        os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent, after_in_child=_after_fork_in_child)
        _registered = True


def inherited() -> tuple[ChildContext, Any, Any] | None:
    """In a fork made by multiprocessing: (context, recorder, engine) its ``_bootstrap`` starts with."""
    return _inherited


def takes_over(owner: Any) -> bool:
    """In a forked child: True when the child's capture takes over ``owner``'s engine and recorder
    (children are followed, and this is not subprocess' fork before an exec)."""
    from .commands import launching_program

    return _forking is not None and _forking[2].owner is owner and not launching_program()


def adopt(recorder: Any, engine: Any) -> None:
    """The run's first process hands its recorder and engine to the forked child's capture."""
    global _adopted
    _adopted = (recorder, engine)


def _before_fork() -> None:
    global _forking
    state = live()
    if state is None or not state.follow:
        _forking = None
        return
    act, _ = state.recorder.context()
    _forking = (state.key, act, state)


def _after_fork_in_parent() -> None:
    global _forking
    _forking = None


def _after_fork_in_child() -> None:
    global _forking, _inherited, _adopted
    noted, _forking = _forking, None
    adopted, _adopted = _adopted, None
    _inherited = None
    if noted is None:
        return
    key, act, state = noted
    set_live(None)
    owner = state.owner
    from .capture import ChildCapture
    from .commands import launching_program

    if launching_program():  # subprocess' own fork, about to exec: nothing to capture here
        if isinstance(owner, ChildCapture):
            owner.detach()
        return
    if isinstance(owner, ChildCapture):
        adopted = owner.hand_over()
    if adopted is None:
        return
    recorder, engine = adopted
    recorder.fork_child()  # the parent's unwritten events and state are the parent's
    context = state.context.handed_over(key, act)
    if getattr(_starting, "process", False):
        _inherited = (context, recorder, engine)
        return
    try:
        capture = ChildCapture(context, "fork", (key, act), adopt=(recorder, engine)).start()
    except Exception as error:
        print(f"autoprov: forked process {os.getpid()}: capture not started ({type(error).__name__}: {error})", file=sys.stderr)
        return
    atexit.register(capture.stop)
    _patch_exit(capture)


def _patch_exit(capture: Any) -> None:
    """``os._exit`` in this forked child completes its log first (it skips atexit)."""
    from .patches import original

    real_exit = original(os, "_exit")

    def _exit(status: int) -> None:
        try:
            capture.stop("completed" if status == 0 else "failed", status)
        finally:
            real_exit(status)

    replace(os, "_exit", _exit)
