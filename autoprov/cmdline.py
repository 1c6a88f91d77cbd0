"""The ``autoprov`` command line: options, subcommands, and exceptions turned into exit codes.

``python -m autoprov [options] script.py [args...]`` and ``autoprov run [options] ...`` run a
program; options go before the program and everything after it belongs to the program.  Other
subcommands work on the store.  A usage or filter error prints one line and exits with status 2
before the program starts; once the program runs, its own ending decides the exit status.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from . import __version__
from .engine import ENGINE_NAMES
from .errors import AutoprovError, UsageError
from .files import HASH_ALGORITHMS
from .runner import Outcome, PyRunner, exit_code_of

SUBCOMMANDS = ("run", "list", "events", "filters", "export", "graph", "show")
DEBUG_TOPICS = ("engine", "filter", "events")
# Options of `run` that take a value: used to find where the program's own arguments begin.
VALUE_OPTIONS = ("--engine", "--filter", "--match", "--store", "--hash", "--debug", "--format", "--graph", "--export", "-m")


def _terminal_columns() -> int:
    """``shutil.get_terminal_size().columns``, computed the same way without importing shutil."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class _Formatter(argparse.HelpFormatter):
    """argparse's help formatter, sized as argparse sizes it but without its ``import shutil``.

    argparse builds a formatter for every ``add_argument`` (to check the metavar), and the default
    one imports shutil for the terminal width: ~3 ms (with zlib, bz2, lzma) of every run's start-up.
    """

    def __init__(self, prog: str) -> None:
        super().__init__(prog, width=_terminal_columns() - 2)


class _Parser(argparse.ArgumentParser):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(formatter_class=_Formatter, **kwargs)

    def error(self, message: str) -> None:  # one line and status 2, as for every usage error
        raise UsageError(message)


class _Once(argparse.Action):
    """A single-valued option: repeating it with another value is a conflict, not an override."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, value: Any, option: str | None = None) -> None:
        previous = getattr(namespace, self.dest)
        if previous is not None and previous != self.default and previous != value:
            raise UsageError(f"conflicting {option} values {previous!r} and {value!r}; give it once")
        setattr(namespace, self.dest, value)


def run_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="autoprov run", description="Run a Python program unchanged and record its provenance.")
    parser.add_argument("--engine", default="auto", action=_Once, help=f"capture engine: {', '.join(ENGINE_NAMES)} (default auto)")
    parser.add_argument("--filter", action="append", default=[], metavar="NAME|FILE", help="filter file or shipped filter name (repeatable)")
    parser.add_argument("--match", action="append", default=[], metavar="MODULE:QUALNAME", help="record functions matching this glob (repeatable)")
    parser.add_argument("--store", default=None, action=_Once, metavar="DIR", help="provenance store (default .prov, or $AUTOPROV_STORE)")
    parser.add_argument("--hash", default="xxh3_128", action=_Once, choices=HASH_ALGORITHMS, help="file digest algorithm")
    parser.add_argument("--debug", action="append", default=[], metavar="TOPIC", help=f"comma list of {', '.join(DEBUG_TOPICS)}")
    parser.add_argument("--quiet", "-q", action="store_true", help="no summary line on stderr at exit")
    parser.add_argument("--format", default=None, metavar="FMT", help="documents to write after the run: json,provn,xml,ttl (default all)")
    parser.add_argument("--graph", default=None, metavar="FMT", help="graph images: svg,png,pdf or none (default svg when Graphviz is installed)")
    parser.add_argument("--export", default=None, choices=("background", "sync"), help="write PROV-N/XML/Turtle and graph images after exit in the background (default) or before exiting")
    parser.add_argument("-m", dest="module", default=None, metavar="MODULE", help="run a module as `python -m` does")
    return parser


def split_run_arguments(argv: list[str]) -> tuple[list[str], list[str]]:
    """(autoprov options, program and its arguments): the program starts at the first non-option."""
    index = 0
    while index < len(argv):
        token = argv[index]
        if token == "--":
            return argv[:index], argv[index + 1 :]
        if not token.startswith("-") or token == "-":
            break
        if token == "-m":
            return argv[: index + 2], argv[index + 2 :]
        if token in VALUE_OPTIONS:
            index += 2
            continue
        index += 1
    return argv[:index], argv[index:]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in ("-h", "--help"):
            print(_usage())
            return 0
        if argv and argv[0] == "--version":
            print(f"autoprov {__version__}")
            return 0
        if argv and argv[0] in SUBCOMMANDS:
            command, argv = argv[0], argv[1:]
        else:
            command = "run"
        if command == "run":
            return run_command(argv)
        if command == "list":
            return list_command(argv)
        if command == "export":
            from .export.cli import export_command

            return export_command(argv)
        if command == "graph":
            from .export.cli import graph_command

            return graph_command(argv)
        if command == "show":
            from .export.cli import show_command

            return show_command(argv)
        if command == "filters":
            from .filtering.cli import main as filters_main

            return filters_main(argv)
        return events_command(argv)
    except AutoprovError as error:
        print(f"autoprov: error: {error}", file=sys.stderr)
        return 2


def _usage() -> str:
    return (
        "usage: python -m autoprov [options] script.py [args...]\n"
        "       python -m autoprov [options] -m module [args...]\n"
        "       autoprov run|list|events|export|graph|show ...\n\n" + run_parser().format_help()
    )


def run_command(argv: list[str]) -> int:
    option_args, program = split_run_arguments(argv)
    options = run_parser().parse_args(option_args)
    if options.module is None and not program:
        raise UsageError("no program to run: give a script path or -m MODULE (see --help)")
    debug = {topic for value in options.debug for topic in value.split(",") if topic}
    unknown = debug - set(DEBUG_TOPICS)
    if unknown:
        raise UsageError(f"unknown --debug topic {sorted(unknown)[0]!r}; choose from {', '.join(DEBUG_TOPICS)}")
    if options.module is not None:
        runner = PyRunner(options.module, program, as_module=True)
    else:
        runner = PyRunner(program[0], program[1:])
    from .engine import choose_engine
    from .matching import build_matcher

    engine_name, reason = choose_engine(options.engine)  # a bad engine is a usage error, before running
    if "engine" in debug:
        print(f"autoprov: engine {engine_name}: {reason}", file=sys.stderr)
    matcher = build_matcher(filters=options.filter, match=options.match, debug="filter" in debug)
    runner.prepare()
    capture = _start_capture(options, runner, matcher)
    module = runner.install()
    outcome = runner.run(module)
    return _finish(outcome, capture, options, debug)


def _start_capture(options: argparse.Namespace, runner: PyRunner, matcher: Any) -> Any:
    """Start capture; if autoprov itself cannot, say so once and let the program run anyway."""
    from .export.cli import ExportStep, export_mode, parse_formats, parse_graphs
    from .session import Capture

    info = {
        "program": runner.target,
        "module": runner.as_module,
        "program_args": runner.args,
        "filters": list(getattr(matcher, "sources", [])),
    }
    export = ExportStep(parse_formats(options.format), parse_graphs(options.graph), export_mode(options.export))
    capture = Capture(matcher, engine=options.engine, store=options.store, hash_algorithm=options.hash, run_info=info, post_run=[export])
    try:
        capture.start()
    except AutoprovError as error:
        print(f"autoprov: capture disabled: {error}; running the program without it", file=sys.stderr)
        return None
    except Exception as error:
        print(f"autoprov: capture disabled ({type(error).__name__}: {error}); running the program without it", file=sys.stderr)
        return None
    return capture


def _finish(outcome: Outcome, capture: Any, options: argparse.Namespace, debug: set[str]) -> int:
    """Replay the program's ending exactly as python would, with the record completed first."""
    error = outcome.exception
    if error is not None and not isinstance(error, SystemExit):
        sys.excepthook(type(error), error, error.__traceback__)
    _join_threads()
    if isinstance(error, SystemExit):
        exit_code: int | None = exit_code_of(error)
    elif isinstance(error, KeyboardInterrupt):
        exit_code = -signal.SIGINT
    else:
        exit_code = 0 if error is None else 1
    if capture is not None:
        try:
            run_dir = capture.stop(outcome.status, exit_code)
            if "events" in debug and run_dir is not None:
                _print_events(run_dir, sys.stderr, prefix="autoprov-event: ")
            summary = capture.post_run[0].summary(run_dir) if run_dir is not None else []
            if not options.quiet and run_dir is not None:
                for line in summary or [f"autoprov: {capture.run_id}: {capture.recorder.activity_count} activities -> {run_dir}"]:
                    print(line, file=sys.stderr)
        except Exception as fault:
            print(f"autoprov: the record could not be completed ({type(fault).__name__}: {fault})", file=sys.stderr)
    if isinstance(error, SystemExit):
        raise error  # python prints a non-integer code and sets the status itself
    if isinstance(error, KeyboardInterrupt):
        _die_of_sigint()
    return 0 if error is None else 1


def _join_threads() -> None:
    """Wait for non-daemon threads, as python does before it exits, so their calls are recorded."""
    current = threading.current_thread()
    for thread in threading.enumerate():
        if thread is not current and not thread.daemon and thread.is_alive():
            thread.join()


def _die_of_sigint() -> None:
    """Python ends an uncaught KeyboardInterrupt by killing itself with SIGINT (status 130 in a shell)."""
    sys.stdout.flush()
    sys.stderr.flush()
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGINT)


def _print_events(run_dir: Path, out: Any, prefix: str = "") -> None:
    """A run's events, one JSON array per line (``--debug events`` and ``autoprov events``)."""
    from .eventlog import encode, read_events

    for event in read_events(run_dir):
        print(prefix + encode(tuple(event)), file=out)


def _store_parser(prog: str) -> _Parser:
    parser = _Parser(prog=prog)
    parser.add_argument("--store", default=None, metavar="DIR")
    return parser


def _store_path(value: str | None) -> Path:
    from .store import default_store

    return Path(value).absolute() if value else default_store()


def list_command(argv: list[str]) -> int:
    """``autoprov list``: runs with their status, newest last."""
    from .eventlog import read_events
    from .store import run_dirs

    options = _store_parser("autoprov list").parse_args(argv)
    for run_dir in run_dirs(_store_path(options.store)):
        status, program, activities = "incomplete", "", 0
        for event in read_events(run_dir):
            if event[0] == "run":
                program = event[3].get("program") or ""
            elif event[0] == "act":
                activities += 1
            elif event[0] == "exit":
                status = event[2]
        print(f"{run_dir.name}  {status:<11}  {activities:>6} activities  {program}")
    return 0


def events_command(argv: list[str]) -> int:
    """``autoprov events RUN``: the raw captured events, one JSON array per line."""
    from .store import find_run

    parser = _store_parser("autoprov events")
    parser.add_argument("run", nargs="?", default="latest")
    options = parser.parse_args(argv)
    _print_events(find_run(_store_path(options.store), options.run), sys.stdout)
    return 0
