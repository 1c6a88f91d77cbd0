"""``autoprov run`` (and ``python -m autoprov``): run a program unchanged under capture.

Options go before the program and everything after it belongs to the program.  A usage or filter
error prints one line and exits with status 2 before the program starts; once the program runs,
its own ending decides the exit status, replayed exactly as python would.
"""

from __future__ import annotations

import argparse
import functools
import os
import signal
import sys
import threading
from typing import Any

from ..engine import ENGINE_NAMES
from ..errors import AutoprovError, UsageError
from ..recorder.files import HASH_ALGORITHMS
from ..session import interrupts
from ..runner import Outcome, ProgramDidNotCompile, PyRunner, exit_code_of
from . import collection
from .options import STORE_HELP, Once, Parser

DEBUG_TOPICS = ("engine", "filter", "events")


def run_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="autoprov run", description="Run a Python program unchanged and record its provenance.")
    parser.add_argument("--engine", default="auto", action=Once, help=f"capture engine: {', '.join(ENGINE_NAMES)} (default auto)")
    parser.add_argument("--filter", action="append", default=[], metavar="NAME|FILE", help="filter file or shipped filter name (repeatable)")
    parser.add_argument("--match", action="append", default=[], metavar="MODULE:QUALNAME", help="record functions matching this glob (repeatable)")
    parser.add_argument("--store", default=None, action=Once, metavar="DIR", help=STORE_HELP)
    parser.add_argument("--hash", default="xxh3_128", action=Once, choices=HASH_ALGORITHMS, help="file digest algorithm")
    parser.add_argument("--debug", action="append", default=[], metavar="TOPIC", help=f"comma list of {', '.join(DEBUG_TOPICS)}")
    parser.add_argument("--quiet", "-q", action="store_true", help="no summary line on stderr at exit")
    parser.add_argument("--format", default=None, metavar="FMT", help="documents to write after the run: json,provn,xml,ttl,html (default: all that the installed extras can write)")
    parser.add_argument("--graph", default=None, metavar="FMT", help="graph images: svg,png,pdf or none (default svg when Graphviz is installed)")
    parser.add_argument("--export", default=None, choices=("background", "sync"), help="write PROV-N/XML/Turtle and graph images after exit in the background (default) or before exiting")
    parser.add_argument("--embed", default=None, metavar="KIND", help="embed provenance in the run's outputs: fits or none (default: [tool.autoprov] embed)")
    parser.add_argument("--no-children", action="store_true", help="do not follow child processes (as AUTOPROV_CHILDREN=0)")
    parser.add_argument("-m", dest="module", default=None, metavar="MODULE", help="run a module as `python -m` does")
    return parser


def value_options(parser: argparse.ArgumentParser) -> frozenset[str]:
    """The options of ``parser`` followed by a value (read from the parser, so never out of step)."""
    return frozenset(option for action in parser._actions if action.nargs != 0 for option in action.option_strings)


def split_run_arguments(argv: list[str], parser: argparse.ArgumentParser) -> tuple[list[str], list[str]]:
    """(autoprov options, program and its arguments): the program starts at the first non-option."""
    takes_value = value_options(parser)
    index = 0
    while index < len(argv):
        token = argv[index]
        if token == "--":
            return argv[:index], argv[index + 1 :]
        if not token.startswith("-") or token == "-":
            break
        if token == "-m":
            return argv[: index + 2], argv[index + 2 :]
        if token in takes_value:
            index += 2
            continue
        index += 1
    return argv[:index], argv[index:]


def run_command(argv: list[str]) -> int:
    parser = run_parser()
    option_args, program = split_run_arguments(argv, parser)
    options = parser.parse_args(option_args)
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
    from ..session.capture import Capture

    # a bad engine, filter, store or output option is a usage error, before running
    info = {"program": runner.target, "module": runner.as_module, "program_args": runner.args}
    capture = Capture.from_options(
        filters=options.filter, match=options.match, engine=options.engine, store=options.store, hash_algorithm=options.hash,
        formats=options.format, graphs=options.graph, export=options.export, embed=options.embed, announce=False,
        debug_filter="filter" in debug, run_info=info,
    )
    assert capture.choice is not None
    if "engine" in debug:
        print(f"autoprov: engine {capture.choice.name}: {capture.choice.reason}", file=sys.stderr)
    try:
        runner.prepare(getattr(capture.choice.native, "compile_script", None))
    except ProgramDidNotCompile as error:
        return error.report()  # as python: the error, no record (nothing ran)
    if options.no_children:  # issue 14: children inherit the switch too
        os.environ["AUTOPROV_CHILDREN"] = "0"
    # the native core's exec_as_main puts the program's frame at the bottom of the stack, as under
    # python; exec (the pure core) leaves the runner's frames below the program's
    executor = getattr(capture.choice.native, "exec_as_main", exec)
    started = _start_capture(capture)
    module = runner.install()
    collection.resume()  # the program runs with the collector as python starts it
    outcome = runner.run(module, executor)
    return _finish(outcome, started, options, debug)


def _start_capture(capture: Any) -> Any:
    """Start capture; if autoprov itself cannot, say so once and let the program run anyway."""
    capture.process_ends = True
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
    _shutdown_threads()
    if isinstance(error, SystemExit):
        exit_code: int | None = exit_code_of(error)
    elif isinstance(error, KeyboardInterrupt):
        exit_code = -signal.SIGINT
    else:
        exit_code = 0 if error is None else 1
    if capture is not None:
        finish = functools.partial(_complete_record, capture, outcome.status, exit_code, options, debug)
        if isinstance(error, KeyboardInterrupt):
            finish()  # the process ends by SIGINT just below: no exit handler will run
        else:
            capture.finish_at_exit(finish)  # after the program's exit handlers and final flushes
    if isinstance(error, SystemExit):
        raise error  # python prints a non-integer code and sets the status itself
    if isinstance(error, KeyboardInterrupt):
        _die_of_sigint()
    return 0 if error is None else 1


def _complete_record(capture: Any, status: str, exit_code: int | None, options: argparse.Namespace, debug: set[str]) -> None:
    """Stop capture and say where the record is."""
    collection.pause()  # the process ends right after: never resumed
    try:
        run = capture.stop(status, exit_code)
        if "events" in debug and run is not None:
            from .runs import print_events

            print_events(run.path, sys.stderr, prefix="autoprov-event: ")
        if not options.quiet and run is not None:
            for line in run.summary:
                print(line, file=sys.stderr)
    except Exception as fault:
        print(f"autoprov: the record could not be completed ({type(fault).__name__}: {fault})", file=sys.stderr)
    # A Ctrl-C held since the program ended came too late to be the program's: python would have
    # exited with the program's status, and so does this.  The hold stays until the process ends.
    interrupts.received.clear()


def _shutdown_threads() -> None:
    """What python does first at exit, so the threads' calls are recorded: ``threading._shutdown``
    runs the ``threading._register_atexit`` callbacks (ThreadPoolExecutor's, which tell idle workers
    to end) and joins every non-daemon thread; python's own call at exit then finds it done.

    Ctrl-C while waiting interrupts the wait and is reported as python reports it there (an
    ignored exception in the threading module); the record is completed either way.
    """
    shutdown = getattr(threading, "_shutdown", None)
    if shutdown is None:  # not CPython's threading: join the threads it lists
        current = threading.current_thread()
        for thread in threading.enumerate():
            if thread is not current and not thread.daemon and thread.is_alive():
                thread.join()
        return
    if interrupts.release():  # a Ctrl-C before the wait began is lost, as in python
        pass
    try:
        shutdown()
    except KeyboardInterrupt as error:
        tb = error.__traceback__.tb_next if error.__traceback__ is not None else None
        error.__traceback__ = tb
        sys.unraisablehook(_Unraisable(KeyboardInterrupt, error, tb, None, threading))
    finally:
        interrupts.hold()


class _Unraisable:
    """The argument ``sys.unraisablehook`` expects (the C type cannot be built from Python)."""

    def __init__(self, exc_type: type, exc_value: BaseException, exc_traceback: Any, err_msg: str | None, object: Any) -> None:
        self.exc_type, self.exc_value, self.exc_traceback = exc_type, exc_value, exc_traceback
        self.err_msg, self.object = err_msg, object


def _die_of_sigint() -> None:
    """Python ends an uncaught KeyboardInterrupt by killing itself with SIGINT (status 130 in a shell)."""
    sys.stdout.flush()
    sys.stderr.flush()
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGINT)
