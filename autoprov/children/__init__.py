"""Child processes merged into one run: forks, multiprocessing, process pools, Python subprocesses.

A run is usually more than one process: ``multiprocessing`` workers (fork, spawn, forkserver),
``concurrent.futures.ProcessPoolExecutor``, ``os.fork``, ``subprocess`` running another Python
step, gammapy's ``n_jobs`` with its multiprocessing or Ray backend.  Each Python child captures
itself and writes its own crash-safe log in the run folder (``children/<process>.jsonl``); the
export merges the logs into one record (:mod:`.merge`), where each process is an activity under
the activity that started it and each pool task is ``wasInformedBy`` the call that submitted it.

How a child starts capture, by the way it was made (coverage.py's and viztracer's mechanisms):

* a fork (``os.fork``, the fork start method): ``os.register_at_fork`` (:mod:`.forks`);
* a multiprocessing child (any start method, pools and ``ProcessPoolExecutor`` included): a patch of
  ``BaseProcess._bootstrap``, brought to spawn and forkserver children inside the serialised
  preparation data (:mod:`.multiproc`); it ends capture when the process' target returns, never
  through ``atexit``, which pool workers killed by ``terminate()`` never run;
* any other Python program (``subprocess``, ``os.exec*``): the ``AUTOPROV_CHILD`` environment
  variable, read by the ``autoprov-children.pth`` start-up file the package installs in
  site-packages (:mod:`.startup`), which costs one dictionary look-up when the variable is unset;
* a Ray worker: ``ray.init(runtime_env={"worker_process_setup_hook": ...})`` (:mod:`.rayhooks`).

Tasks of a pool are wrapped where they are submitted (:mod:`.tasks`): a worker records each task
as an activity, flushes its log when the task ends and completes it on SIGTERM.  Programs that are
not Python are command activities (argv, exit status) from the ``subprocess.Popen`` audit event
(:mod:`.commands`).  ``AUTOPROV_CHILDREN=0`` (``--no-children``) turns the following of children
off; commands are still recorded, as the parent's own activities.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

from ..events import MAIN
from .context import CHILD_ENV, SWITCH_ENV, ChildContext, children_enabled, exclude_folder

if TYPE_CHECKING:
    from pathlib import Path

    from ..recorder import Recorder

__all__ = ["CHILD_ENV", "SWITCH_ENV", "ChildContext", "Live", "children_enabled", "install", "live", "uninstall"]



class Live:
    """The capture of this process as the child machinery sees it (the run's first process or a child).

    A plain class, not a dataclass: importing ``dataclasses`` costs ~10 ms of every run's start-up.
    """

    __slots__ = ("key", "recorder", "context", "owner", "follow")

    def __init__(self, key: str, recorder: Recorder, context: ChildContext, owner: Any, follow: bool) -> None:
        self.key = key  # this process' key in the run: "main", or "<pid>-<start ns>"
        self.recorder = recorder
        self.context = context
        self.owner = owner  # the Capture or ChildCapture that owns the recorder
        self.follow = follow  # children are followed (not AUTOPROV_CHILDREN=0)


# Protocols exist for the type checker only: creating one at run time costs ~0.15 ms of start-up (typing's metaclass)
if TYPE_CHECKING:
    from typing import Protocol

    class RunCapture(Protocol):
        """What the child machinery reads of the capture of a run's first process
        (:class:`autoprov.session.capture.Capture`, started: its folder and recorder exist)."""

        run_id: str
        run_dir: Path | None
        store: Path
        engine_name: str | None
        hash_algorithm: str
        recorder: Recorder | None


_live: Live | None = None


def live() -> Live | None:
    """The capture running in this process, or None."""
    return _live


def set_live(state: Live | None) -> None:
    global _live
    _live = state


def install(capture: RunCapture, matcher: Any) -> None:
    """Called by :class:`autoprov.session.capture.Capture` when it starts: follow this run's children.

    Never raises: a failure here (a library version this code does not know) leaves the run's own
    capture going, without children, and says so once.
    """
    try:
        _install(capture, matcher)
    except Exception as error:
        set_live(None)
        try:
            from . import patches

            patches.uninstall_all()
        except Exception:
            pass
        print(f"autoprov: {capture.run_id}: child processes are not followed ({type(error).__name__}: {error})", file=sys.stderr)


def _install(capture: RunCapture, matcher: Any) -> None:
    from . import commands, forks, patches

    recorder = capture.recorder
    assert recorder is not None and capture.run_dir is not None and capture.engine_name is not None, "install() after start()"
    context = ChildContext(
        run_dir=str(capture.run_dir), run_id=capture.run_id, engine=capture.engine_name,
        hash_algorithm=capture.hash_algorithm, store=str(capture.store), root_pid=os.getpid(), parent=MAIN,
    )
    follow = children_enabled()
    context.matcher = matcher
    exclude_folder(recorder.file_events, str(capture.run_dir))  # maybe staged outside the store
    set_live(Live(MAIN, recorder, context, capture, follow))
    commands.attach(recorder)
    if follow:
        context.export_environment()
        forks.register()
        patches.install_all()
    else:
        patches.install_all(only=frozenset({"os", "subprocess"}))


def uninstall(capture: RunCapture) -> None:
    """Called when the capture stops: close open commands, stop following children."""
    from ..engine import audit
    from . import commands, patches

    state = _live
    if state is None or state.owner is not capture:
        return
    commands.detach(state.recorder)
    patches.uninstall_all()
    if state.follow and not audit.program_hooked:  # unsetenv would show in the program's own hook
        state.context.clear_environment()
    set_live(None)
