"""The export side of the command line: the post-run export step and ``export`` / ``graph`` / ``show``.

Every command rebuilds from the run's event log, so a run killed with SIGKILL (no EXIT event)
still exports, with status ``incomplete``.  ``cmdline`` only parses the run options and
dispatches here; imports of ``prov`` and friends happen here, after the program has finished.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from typing import TYPE_CHECKING

from ..errors import UsageError
from ..store import atomic_write, find_run
from .names import FORMATS
from .quiet_gc import paused_gc
from .render import GRAPH_FORMATS, RenderError, render

if TYPE_CHECKING:  # the exporter proper is imported after the run, not at start-up
    from .model import RunModel
    from .outputs import Written


def parse_formats(text: str | None) -> tuple[str, ...]:
    """``--format json,provn`` (default: all four); PROV-JSON is always written."""
    if text is None or text == "all":
        return FORMATS
    chosen = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    unknown = [fmt for fmt in chosen if fmt not in FORMATS]
    if unknown:
        raise UsageError(f"unknown --format {unknown[0]!r}; choose from {', '.join(FORMATS)} (comma separated) or all")
    return chosen


def parse_graphs(text: str | None) -> tuple[str, ...] | None:
    """``--graph svg,png`` / ``none``; None means the default (svg when Graphviz is installed)."""
    if text is None:
        return None
    if text == "none":
        return ()
    chosen = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    unknown = [fmt for fmt in chosen if fmt not in GRAPH_FORMATS]
    if unknown:
        raise UsageError(f"unknown --graph {unknown[0]!r}; choose from {', '.join(GRAPH_FORMATS)} or none")
    return chosen


def display_path(path: Path) -> str:
    """``.prov/<run-id>/`` when under the working directory, else the absolute path."""
    try:
        text = os.path.relpath(path)
    except ValueError:
        text = str(path)
    return (str(path) if text.startswith("..") else text).rstrip(os.sep) + os.sep


EXPORT_MODES = ("background", "sync")
EXPORT_ENV = "AUTOPROV_EXPORT"


def export_mode(text: str | None) -> str:
    """``--export`` / ``$AUTOPROV_EXPORT``: background (default) or sync."""
    mode = text or os.environ.get(EXPORT_ENV) or "background"
    if mode not in EXPORT_MODES:
        raise UsageError(f"unknown --export mode {mode!r}; choose background or sync")
    return mode


class ExportStep:
    """The post-run step of ``python -m autoprov``: write the outputs into the run folder.

    PROV-JSON (streamed), ``environment.json`` and ``graph.dot`` are always written before the
    program's process ends; they cost milliseconds.  PROV-N, PROV-XML, Turtle and the rendered
    graph cost up to a second (prov.model, rdflib, Graphviz), which would show in every run's wall
    time, so by default a detached ``autoprov export --all`` writes them just after the program has
    exited (each file appears atomically).  ``--export sync`` writes everything before exiting.
    """

    def __init__(self, formats: tuple[str, ...] = FORMATS, graphs: tuple[str, ...] | None = None, mode: str = "background") -> None:
        self.formats = formats
        self.graphs = graphs
        self.mode = mode
        self.model: RunModel | None = None
        self.written: Written | None = None

    def __call__(self, run_dir: Path) -> Written:
        from .model import load
        from .outputs import write_run

        deferred = self.mode == "background" and (set(self.formats) - {"json"} or self.graphs != ())
        with paused_gc():
            self.model = load(run_dir)
            if deferred:
                self.written = write_run(Path(run_dir), self.model, ("json",), ())
            else:
                self.written = write_run(Path(run_dir), self.model, self.formats, self.graphs)
        if deferred:
            self._detach(Path(run_dir))
        return self.written

    def _detach(self, run_dir: Path) -> None:
        """Start ``autoprov export --all`` for the slow outputs, once this process has exited.

        The exporter's Python (0.3 s of CPU for prov, rdflib and Graphviz) would otherwise start
        while this process is still finishing and compete with it for the CPU: ~30 ms of every
        run's wall time on two cores.  So a tiny ``sh`` waits, blocked on a pipe whose only write
        end this process keeps open and never writes, and execs the exporter when the pipe closes:
        when this process exits, however it exits (the kernel closes the descriptor).
        """
        import subprocess

        command = [sys.executable, "-m", "autoprov", "export", run_dir.name, "--store", str(run_dir.parent), "--all",
                   "--format", ",".join(self.formats)]
        if self.graphs is not None:
            command += ["--graph", ",".join(self.graphs) or "none"]
        wait_end, exit_end = os.pipe()  # both close-on-exec: only this process holds exit_end
        try:
            subprocess.Popen(["/bin/sh", "-c", 'read -r _ ; exec "$@" </dev/null', "autoprov-export", *command],
                             stdin=wait_end, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True, close_fds=True)
        except BaseException:
            os.close(exit_end)
            raise
        finally:
            os.close(wait_end)
        # exit_end stays open on purpose, until this process exits

    def summary(self, run_dir: Path) -> list[str]:
        """Notes, then the final line: ``autoprov: <run-id>: N activities, M entities -> .prov/<run-id>/``."""
        if self.model is None or self.written is None:
            return []
        lines = [f"autoprov: {self.model.run_id}: note: {note}" for note in self.written.notes]
        lines.append(
            f"autoprov: {self.model.run_id}: {len(self.model.activities)} activities, "
            f"{self.model.entity_count} entities -> {display_path(run_dir)}"
        )
        return lines


def _gc_paused(command: Callable[[list[str]], int]) -> Callable[[list[str]], int]:
    def paused(argv: list[str]) -> int:
        with paused_gc():
            return command(argv)

    paused.__doc__ = command.__doc__
    return paused


def _parser(prog: str) -> argparse.ArgumentParser:
    from ..cmdline import _Parser

    parser = _Parser(prog=prog)
    parser.add_argument("run", nargs="?", default="latest", help="run id, unique prefix, or latest (default)")
    parser.add_argument("--store", default=None, metavar="DIR", help="provenance store (default .prov, or $AUTOPROV_STORE)")
    return parser


def _run_dir(options: argparse.Namespace) -> Path:
    from ..store import default_store

    return find_run(Path(options.store).absolute() if options.store else default_store(), options.run)


def _deliver(data: str | bytes, output: str) -> None:
    if output == "-":
        if isinstance(data, bytes):
            sys.stdout.buffer.write(data)
        else:
            sys.stdout.write(data)
        return
    atomic_write(Path(output), data)
    print(output)


@_gc_paused
def export_command(argv: list[str]) -> int:
    """``autoprov export RUN --format json|provn|xml|ttl [-o FILE|-]``: rebuild a document from the log."""
    parser = _parser("autoprov export")
    parser.add_argument("--format", default=None, help=f"one of {', '.join(FORMATS)} (with --all: a comma list)")
    parser.add_argument("-o", "--output", default=None, metavar="FILE", help="output file, - for stdout (default: the run folder)")
    parser.add_argument("--all", action="store_true", help="write every document and graph into the run folder")
    parser.add_argument("--graph", default=None, metavar="FMT", help="with --all: svg,png,pdf or none")
    options = parser.parse_args(argv)
    run_dir = _run_dir(options)
    from .model import load
    from .outputs import serialize, write_run

    model = load(run_dir)
    if options.all:
        written = write_run(run_dir, model, parse_formats(options.format), parse_graphs(options.graph))
        for note in written.notes:
            print(f"autoprov: {model.run_id}: note: {note}", file=sys.stderr)
        for path in written.files:
            print(path)
        return 0
    options.format = options.format or "json"
    if options.format not in FORMATS:
        raise UsageError(f"unknown --format {options.format!r}; choose from {', '.join(FORMATS)}")
    output = options.output or str(run_dir / f"provenance.{options.format}")
    if options.format == "json":
        if output == "-":
            from .provjson import write_statements
            from .statements import namespaces, statements

            write_statements(sys.stdout, namespaces(model), statements(model))
        else:
            from . import provjson

            provjson.write(model, Path(output))
            print(output)
        return 0
    try:
        text = serialize(model, options.format)
    except RuntimeError as error:
        raise UsageError(str(error)) from None
    _deliver(text, output)
    return 0


@_gc_paused
def graph_command(argv: list[str]) -> int:
    """``autoprov graph RUN [-o FILE]``: DOT, SVG, PNG or PDF chosen by the file suffix."""
    from .dot import to_dot
    from .model import load

    parser = _parser("autoprov graph")
    parser.add_argument("-o", "--output", default=None, metavar="FILE", help="graph.dot/.svg/.png/.pdf (default: graph.svg in the run folder)")
    parser.add_argument("--collapse", choices=("auto", "yes", "no"), default="auto", help="collapse repeated calls (default: above 60 activities)")
    parser.add_argument("--timeout", type=float, default=60.0, help="layout time limit in seconds")
    options = parser.parse_args(argv)
    run_dir = _run_dir(options)
    output = options.output or str(run_dir / "graph.svg")
    suffix = Path(output).suffix.lstrip(".").lower() if output != "-" else "dot"
    if suffix not in ("dot", "gv", *GRAPH_FORMATS):
        raise UsageError(f"cannot tell the graph format from {output!r}: use .dot, .svg, .png or .pdf")
    collapse = {"auto": None, "yes": True, "no": False}[options.collapse]
    text = to_dot(load(run_dir), collapse=collapse)
    if suffix in ("dot", "gv"):
        _deliver(text, output)
        return 0
    try:
        image = render(text, suffix, timeout=options.timeout)
    except RenderError as error:
        raise UsageError(str(error)) from None
    _deliver(image, output)
    return 0


@_gc_paused
def show_command(argv: list[str]) -> int:
    """``autoprov show RUN``: a short human summary of a run."""
    from .model import load

    options = _parser("autoprov show").parse_args(argv)
    run_dir = _run_dir(options)
    print(describe(load(run_dir), run_dir))
    return 0


def describe(model: RunModel, run_dir: Path) -> str:
    from .names import utc

    info = model.info
    lines = [f"run       {model.run_id}  ({model.status}" + (f", exit status {model.exit_code})" if model.exit_code is not None else ")")]
    lines.append(f"program   {info.get('program', '?')}  {' '.join(map(str, info.get('program_args') or []))}".rstrip())
    if model.start is not None:
        stop = utc(model.end).isoformat() if model.end is not None else "-"
        lines.append(f"time      {utc(model.start).isoformat()} -> {stop}")
    environment = model.environment or {}
    python, git = environment.get("python") or {}, environment.get("git") or {}
    if environment:
        lines.append(f"where     {environment.get('user')}@{environment.get('hostname')}  Python {python.get('version')}  {info.get('engine', '')} engine")
    if git.get("commit"):
        lines.append(f"git       {git['commit'][:12]}{' (dirty)' if git.get('dirty') else ''}  {git.get('root')}")
    names = Counter(activity.name for activity in model.activities.values())
    lines.append(f"calls     {len(model.activities)} activities, {model.entity_count} entities")
    for name, count in names.most_common(12):
        lines.append(f"          {count:>5} x {name}")
    if len(names) > 12:
        lines.append(f"          ... {len(names) - 12} more functions")
    for title, links in (("read", model.used), ("written", model.generated)):
        files = {link.entity for link in links if link.entity[0] == "file"}
        for key in sorted(files)[:20]:
            digest = model.digests.get((key[1], key[2]))
            lines.append(f"{title:<9} {key[1]}" + (f"  {digest[0]}:{digest[1][:16]}" if digest and digest[1] else ""))
        if len(files) > 20:
            lines.append(f"          ... {len(files) - 20} more files {title}")
    outputs = sorted(p.name for p in run_dir.iterdir() if p.name.startswith(("provenance.", "graph.", "environment.")))
    lines.append(f"outputs   {' '.join(outputs) if outputs else '(none yet: autoprov export)'}")
    return "\n".join(lines)
