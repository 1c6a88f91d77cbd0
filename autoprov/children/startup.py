"""Start-up of any Python child: the ``autoprov-children.pth`` file the package installs runs :func:`start`.

Python executes ``import`` lines of ``.pth`` files in site-packages at every start-up, before
the program.  Ours tests one environment variable and stops there when it is unset (about a
microsecond); when a capturing parent set ``AUTOPROV_CHILD``, the child joins that run before the
program's first line, and completes its log at exit.  Processes that are not the run's programs
are left alone: multiprocessing's own helpers (its spawn and forkserver children start capture
in ``_bootstrap``, see :mod:`.multiproc`; the forkserver and the resource tracker are plumbing),
Ray's daemons and workers (workers start through Ray's setup hook, :mod:`.rayhooks`), and
autoprov's own programs (a nested ``python -m autoprov`` is a run of its own; the exporter and the
I/O helper are autoprov's).
"""

from __future__ import annotations

import os
import sys
from typing import Any

PTH_NAME = "autoprov-children.pth"
MULTIPROCESSING_HELPERS = ("from multiprocessing.",)
_started = False


def start() -> None:
    """Join the parent's run (called by the .pth file when ``AUTOPROV_CHILD`` is set); never raises."""
    global _started
    if _started:  # site can process the same .pth twice (lib and lib64 of a venv)
        return
    _started = True
    try:
        _start()
    except Exception as error:
        try:
            print(f"autoprov: process {os.getpid()}: capture not started ({type(error).__name__}: {error})", file=sys.stderr)
        except Exception:
            pass


VALUE_OPTIONS = ("-W", "-X", "--check-hash-based-pycs")  # interpreter options followed by a value


def not_a_program_of_the_run(argv: list[str]) -> bool:
    """True for the helper processes the module docstring lists (``argv``: ``sys.orig_argv``)."""
    args = argv[1:]
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "-c":
            code = args[index + 1] if index + 1 < len(args) else ""
            return code.lstrip().startswith(MULTIPROCESSING_HELPERS)
        if arg == "-m":
            module = args[index + 1] if index + 1 < len(args) else ""
            return module in ("autoprov", "ray") or module.startswith(("autoprov.", "ray."))
        if arg in VALUE_OPTIONS:
            index += 2
            continue
        if not arg.startswith("-"):
            return f"{os.sep}ray{os.sep}" in os.path.abspath(arg) and "-packages" in arg
        index += 1
    return False


def _start() -> None:
    from .context import CHILD_ENV, ChildContext, children_enabled

    raw = os.environ.get(CHILD_ENV)
    if not raw or not children_enabled() or not_a_program_of_the_run(list(sys.orig_argv)):
        return
    context = ChildContext.decode(raw)
    if not context.folder.path.is_dir():
        return  # the run folder is gone: an old variable leaked into this environment
    import atexit

    from . import forks, patches
    from .capture import ChildCapture

    forks.register()
    capture = ChildCapture(context, "program", (context.parent, context.act)).start()
    patches.install_all()
    atexit.register(capture.stop)
    if os.getpid() == context.root_pid:  # exec'd by the run's first process: export the whole run again
        atexit.register(_export_successor, context)


def _export_successor(context: Any) -> None:
    """The run's first process exec'd this program: rewrite the documents with its part merged."""
    from ..session.postrun import ExportStep

    ExportStep(("json",), (), "sync")(context.folder.path)  # type: ignore[attr-defined]
