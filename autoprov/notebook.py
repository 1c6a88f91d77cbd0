"""IPython and Jupyter: ``%load_ext autoprov``, then ``%autoprov start|stop|status`` and ``%%autoprov``.

Capture is switched on like a profiler.  While it is on, each executed cell is an activity
(``cell``: its execution count, the digest of its code, its start and end), and the gammapy
calls and files of that cell nest under it; running a cell again records a new activity, and a
cell that raises ends ``failed``.  The cell events are IPython's ``pre_run_cell`` /
``post_run_cell``, registered only while capture is on, so with capture off a cell costs
nothing.  ``%autoprov stop`` writes the documents and shows the run: a short summary and, in a
notebook front end, the graph inline (the finished :class:`~autoprov.session.run.Run` is a rich display).
``%%autoprov`` records one cell as one run.

This is the only module that imports IPython, and only ``%load_ext autoprov`` imports it.
"""

from __future__ import annotations

import argparse
import shlex
from typing import Any

import xxhash
from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.display import display

CELL_RULE = "autoprov:cell"
ACTIONS = ("start", "stop", "status")


def load(ipython: Any) -> None:
    """Register the magics (``load_ipython_extension`` of the package calls this)."""
    ipython.register_magics(AutoprovMagics(ipython))


def _options_parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, add_help=False, exit_on_error=False)
    parser.add_argument("--filter", action="append", default=None, metavar="NAME|FILE")
    parser.add_argument("--match", action="append", default=None, metavar="MODULE:QUALNAME")
    parser.add_argument("--store", default=None, metavar="DIR")
    parser.add_argument("--engine", default="auto")
    parser.add_argument("--format", default=None, metavar="FMT")
    parser.add_argument("--graph", default=None, metavar="FMT")
    return parser


def _parse(prog: str, text: str) -> argparse.Namespace:
    try:
        options, unknown = _options_parser(prog).parse_known_args(shlex.split(text, comments=True))
    except (argparse.ArgumentError, ValueError) as error:
        raise UsageError(f"{prog}: {error}") from None
    if unknown:
        raise UsageError(f"{prog}: unknown option {unknown[0]!r}; options: --filter, --match, --store, --engine, --format, --graph")
    return options


def _capture(options: argparse.Namespace) -> Any:
    """The capture the magics start: built as ``python -m autoprov`` and ``autoprov.capture()`` build theirs
    (the same defaults and ``[tool.autoprov]`` settings); the documents are written at ``%autoprov stop``."""
    from .session.capture import Capture

    return Capture.from_options(filters=options.filter, match=options.match, formats=options.format, graphs=options.graph,
                                export="sync", announce=False, store=options.store, engine=options.engine)


def cell_params(code: str, number: int | None, cell_id: str | None) -> dict[str, Any]:
    """The parameters of a cell activity: its number, the digest of its code, its first line."""
    lines = [line for line in code.strip().splitlines() if line.strip()]
    params: dict[str, Any] = {"execution_count": number, "digest": xxhash.xxh3_128_hexdigest(code.encode("utf-8", "surrogatepass"))}
    if cell_id:
        params["cell_id"] = cell_id
    params["first_line"] = lines[0][:80] if lines else ""
    return params


class CellActivities:
    """Each executed cell becomes an activity of ``capture`` (IPython's cell events)."""

    def __init__(self, ipython: Any, capture: Any) -> None:
        self.ipython = ipython
        self.capture = capture
        self.current: int | None = None
        self.cells = 0

    def register(self) -> None:
        self.ipython.events.register("pre_run_cell", self.pre_run_cell)
        self.ipython.events.register("post_run_cell", self.post_run_cell)

    def unregister(self) -> None:
        for event, callback in (("pre_run_cell", self.pre_run_cell), ("post_run_cell", self.post_run_cell)):
            try:
                self.ipython.events.unregister(event, callback)
            except ValueError:
                pass

    def pre_run_cell(self, info: Any) -> None:
        recorder = self.capture.recorder
        if recorder is None:
            return
        params = cell_params(info.raw_cell or "", self.ipython.execution_count, getattr(info, "cell_id", None))
        self.current = recorder.begin("cell", params, rule_id=CELL_RULE)
        self.cells += 1

    def post_run_cell(self, result: Any) -> None:
        self.end(result.error_in_exec or result.error_before_exec)

    def end(self, error: BaseException | None = None) -> None:
        """End the running cell's activity (``failed`` when it raised)."""
        act, self.current = self.current, None
        recorder = self.capture.recorder
        if act is None or recorder is None:
            return
        if error is None:
            recorder.finish(act)
        else:
            recorder.finish(act, "failed", f"{type(error).__qualname__}: {error}"[:200])


@magics_class
class AutoprovMagics(Magics):
    """``%autoprov start|stop|status`` and ``%%autoprov``."""

    def __init__(self, shell: Any) -> None:
        super().__init__(shell)
        self.capture: Any = None
        self.cells: CellActivities | None = None

    @line_magic("autoprov")
    def autoprov_line(self, line: str) -> Any:
        """%autoprov start [--filter F] [--match M] [--store DIR] [--engine E] [--format F] [--graph G] | stop | status"""
        action, _, rest = line.strip().partition(" ")
        if action not in ACTIONS:
            raise UsageError(f"%autoprov: expected one of {', '.join(ACTIONS)}, got {action or 'nothing'!r}")
        return getattr(self, "_" + action)(rest)

    def _start(self, rest: str) -> None:
        if self.capture is not None:
            raise UsageError(f"%autoprov: capture {self.capture.run_id} is already on; %autoprov stop first")
        capture = _capture(_parse("%autoprov start", rest))
        capture.start()
        self.capture = capture
        self.cells = CellActivities(self.shell, capture)
        self.cells.register()
        print(f"autoprov: capturing run {capture.run_id}: each cell is an activity; %autoprov stop writes the record")

    def _stop(self, rest: str) -> Any:
        if self.capture is None:
            print("autoprov: not capturing (%autoprov start)")
            return None
        capture, cells = self.capture, self.cells
        self.capture = self.cells = None
        assert cells is not None
        cells.end()  # the cell running this magic ends here, before the run does
        cells.unregister()
        run = capture.stop()
        _show(run, self.shell)
        return None

    def _status(self, rest: str) -> None:
        if self.capture is None or self.capture.recorder is None:
            print("autoprov: not capturing (%autoprov start)")
            return
        recorder = self.capture.recorder
        cells = self.cells.cells if self.cells is not None else 0
        print(f"autoprov: capturing run {self.capture.run_id}: {cells} cells, {recorder.activity_count} activities so far "
              f"-> {self.capture.run_dir}")

    @cell_magic("autoprov")
    def autoprov_cell(self, line: str, cell: str) -> None:
        """%%autoprov [options]: record this one cell as one run."""
        if self.capture is not None:
            raise UsageError(f"%%autoprov: capture {self.capture.run_id} is already on; %autoprov stop first")
        capture = _capture(_parse("%%autoprov", line))
        shell = self.shell
        transformed = shell.transform_cell(cell)
        code = shell.compile(transformed, shell.compile.cache(transformed, shell.execution_count, raw_code=cell), "exec")
        capture.start()
        act = capture.recorder.begin("cell", cell_params(cell, shell.execution_count, None), rule_id=CELL_RULE)
        try:
            exec(code, shell.user_ns)
        except BaseException as error:
            capture.recorder.finish(act, "failed", f"{type(error).__qualname__}: {error}"[:200])
            run = capture.stop("interrupted" if isinstance(error, KeyboardInterrupt) else "failed", None)
            _show(run, shell)
            raise
        capture.recorder.finish(act)
        _show(capture.stop(), shell)


def _show(run: Any, shell: Any) -> None:
    """The summary, and in a front end that shows SVG, the run itself (its graph) as a rich display."""
    if run is None:
        return
    for line in run.summary:
        print(line)
    if "image/svg+xml" in getattr(shell.display_formatter, "active_types", ()):
        display(run)
