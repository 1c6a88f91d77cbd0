"""The ``autoprov`` command line: one dispatch table, and exceptions turned into exit codes.

``python -m autoprov [options] script.py [args...]`` and ``autoprov run [options] ...`` run a
program (:mod:`.run`); the other subcommands work on the store, one module per group
(:mod:`.runs`, :mod:`.export`, :mod:`.filters`, and the index's :mod:`.index`, :mod:`.diff`,
:mod:`.lineage`, :mod:`.rm`, :mod:`.gc`).  Adding a command is adding a module and a line
to :data:`COMMANDS`.  Every :class:`~autoprov.errors.AutoprovError` becomes one line on stderr,
``autoprov: error: <message> [<id>]``, and exit status 2.
"""

from __future__ import annotations

import importlib
import os
import sys

from ..version import __version__
from ..errors import AutoprovError, UsageError
from . import collection

# subcommand -> (module of autoprov.cli, function taking the remaining argv and returning the status)
COMMANDS = {
    "run": ("run", "run_command"),
    "list": ("runs", "list_command"),
    "show": ("runs", "show_command"),
    "events": ("runs", "events_command"),
    "export": ("export", "export_command"),
    "graph": ("export", "graph_command"),
    "filters": ("filters", "main"),
    "report": ("report", "report_command"),
    "embed": ("embed", "embed_command"),
    "verify": ("reproduce", "verify_command"),
    "rerun": ("reproduce", "rerun_command"),
    "index": ("index", "index_command"),
    "diff": ("diff", "diff_command"),
    "lineage": ("lineage", "lineage_command"),
    "impact": ("impact", "impact_command"),
    "serve": ("serve", "serve_command"),
    "rm": ("rm", "rm_command"),
    "gc": ("gc", "gc_command"),
    "import": ("interop", "import_command"),
}
SUBCOMMANDS = tuple(COMMANDS)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in ("-h", "--help"):
            print(usage())
            return 0
        if argv and argv[0] == "--version":
            print(f"autoprov {__version__}")
            return 0
        if argv and argv[0] in COMMANDS:
            command, argv = argv[0], argv[1:]
        else:
            command = "run"
            _refuse_mistyped_command(argv)
        if command != "run":
            _path_as_python_m()
        module_name, function_name = COMMANDS[command]
        if command == "run":  # resumed just before the program starts (see .collection)
            collection.pause()
        try:
            module = importlib.import_module(f"{__name__}.{module_name}")
            return getattr(module, function_name)(argv)
        finally:
            collection.resume()  # an error before the program started
    except AutoprovError as error:
        print(f"autoprov: error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # `autoprov show latest | head`: the reader has gone, which is not an error of ours.  Point
        # stdout at /dev/null so the interpreter's final flush does not fail again (Python's advice).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 1


def _refuse_mistyped_command(argv: list[str]) -> None:
    """``autoprov lsit``: a usage error naming the command meant, not a run of a script "lsit"
    (unless a file of that name exists: then it is a program, as always)."""
    if not argv or argv[0].startswith("-") or os.path.exists(argv[0]):
        return
    import difflib

    close = difflib.get_close_matches(argv[0], [c for c in COMMANDS if c != "run"], n=1, cutoff=0.6)
    if close:
        raise UsageError(f"unknown command {argv[0]!r}; did you mean {close[0]!r}? (see autoprov --help)")


def _path_as_python_m() -> None:
    """Store commands see the modules of the working directory, as under ``python -m autoprov``.

    The ``autoprov`` console script starts with its own folder (the environment's bin) as
    ``sys.path[0]`` where ``python -m`` puts the working directory, so ``autoprov filters explain
    mymodule.f`` could not import ``mymodule``.  Safe-path mode (``-P``) keeps it out, as for python.
    """
    if sys.flags.safe_path or not sys.path:
        return
    script = os.path.abspath(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    if sys.path[0] == os.path.dirname(script) and os.path.basename(script) != "__main__.py":
        sys.path[0] = os.getcwd()


def usage() -> str:
    from .run import run_parser

    return (
        "usage: python -m autoprov [options] script.py [args...]\n"
        "       python -m autoprov [options] -m module [args...]\n"
        f"       autoprov {'|'.join(c for c in COMMANDS if c != 'run')} ...\n\n" + run_parser().format_help()
    )
