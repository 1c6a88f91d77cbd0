"""``autoprov export`` and ``autoprov graph``: rebuild a document or a drawing from a run's log.

Every command rebuilds from the event log, so a run killed with SIGKILL (no EXIT event) still
exports, with status ``incomplete``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

from ..errors import UsageError
from ..export import FORMATS
from ..session.postrun import parse_formats, parse_graphs, record_notes
from ..store import RunFolder, atomic_write
from .options import run_folder, store_parser


def _gc_paused(command: Callable[[list[str]], int]) -> Callable[[list[str]], int]:
    def paused(argv: list[str]) -> int:
        from ..export.quiet_gc import paused_gc

        with paused_gc():
            return command(argv)

    paused.__doc__ = command.__doc__
    return paused


def _deliver(data: str | bytes, output: str) -> None:
    if output == "-":
        if isinstance(data, bytes):
            sys.stdout.buffer.write(data)
        else:
            sys.stdout.write(data)
        return
    atomic_write(Path(output), data)
    print(output)


def _forget_old_failure(log: Path) -> None:
    """A new full export replaces the notes of the last one, its error output included."""
    try:
        os.truncate(log, 0)
    except OSError:
        pass


@_gc_paused
def export_command(argv: list[str]) -> int:
    """``autoprov export RUN --format json|provn|xml|ttl|html [-o FILE|-]``: rebuild a document from the log."""
    parser = store_parser("autoprov export", run=True)
    parser.add_argument("--format", default=None, help=f"one of {', '.join(FORMATS)}, rocrate, or ctapipe (its provenance-log format; default output: stdout) (with --all: a comma list of the first)")
    parser.add_argument("-o", "--output", default=None, metavar="FILE", help="output file, - for stdout (default: the run folder)")
    parser.add_argument("--all", action="store_true", help="write every document and graph into the run folder")
    parser.add_argument("--graph", default=None, metavar="FMT", help="with --all: svg,png,pdf or none")
    parser.add_argument("--from-fits", default=None, metavar="FILE", help="instead of a run: the PROV-JSON embedded in a FITS file (default output: stdout)")
    options = parser.parse_args(argv)
    if options.from_fits:
        return _from_fits(options.from_fits, options.output or "-")
    run_dir = run_folder(options)
    from ..export import load, serialize, write_run

    if options.all:
        _forget_old_failure(RunFolder(run_dir).export_log)
    model = load(run_dir)
    if options.all:
        written = write_run(run_dir, model, parse_formats(options.format), parse_graphs(options.graph), asked=options.format is not None)
        record_notes(run_dir, "export", written.notes)
        for note in written.notes:
            print(f"autoprov: {model.run_id}: note: {note}", file=sys.stderr)
        for path in written.files:
            print(path)
        return 0
    options.format = options.format or "json"
    if options.format == "rocrate":
        return _rocrate(run_dir, model, options.output)
    if options.format == "ctapipe":  # ctapipe's provenance-log format (issue 22), not a PROV document
        from ..export.ctapipe_log import ctapipe_log

        _deliver(ctapipe_log(model) + "\n", options.output or "-")
        return 0
    if options.format not in FORMATS:
        raise UsageError(f"unknown --format {options.format!r}; choose from {', '.join(FORMATS)}, rocrate")
    from ..export.renderers import RENDERERS

    output = options.output or str(RENDERERS[options.format].target(RunFolder(run_dir)))
    if options.format == "json":
        from ..export.renderers import provjson

        if output == "-":
            provjson.write_model(sys.stdout, model)
        else:
            provjson.write(model, Path(output))
            print(output)
        return 0
    try:
        text = serialize(model, options.format)
    except RuntimeError as error:
        raise UsageError(str(error)) from None
    _deliver(text, output)
    return 0


def _rocrate(run_dir: Path, model, output: str | None) -> int:
    """A Process Run Crate of the run: ``-o DIR`` or ``-o FILE.zip`` (default ``<run folder>/ro-crate.zip``)."""
    from ..export.rocrate import write_crate

    target = Path(output or RunFolder(run_dir).path / "ro-crate.zip")
    try:
        notes = write_crate(run_dir, model, target)
    except RuntimeError as error:
        raise UsageError(str(error)) from None
    for note in notes:
        print(f"autoprov: {model.run_id}: note: {note}", file=sys.stderr)
    print(target)
    return 0


def _from_fits(path: str, output: str) -> int:
    """The document of a FITS file's ``PROVENANCE`` HDU, as the canonical JSON its ``PROVDIG`` digests."""
    from ..export.fits_embed import canonical, document_digest, from_fits

    try:
        document = from_fits(path)
    except (OSError, ValueError) as error:
        raise UsageError(str(error)) from None
    from astropy.io import fits

    recorded = fits.getheader(path, 0).get("PROVDIG")
    if recorded is not None and recorded != document_digest(document):
        print(f"autoprov: warning: {path}: the PROVENANCE table does not match its PROVDIG digest {recorded}", file=sys.stderr)
    _deliver(canonical(document) + "\n", output)
    return 0


@_gc_paused
def graph_command(argv: list[str]) -> int:
    """``autoprov graph RUN [-o FILE]``: DOT, SVG, PNG or PDF chosen by the file suffix."""
    from ..export.renderers.dot import to_dot
    from ..export import load
    from ..export.renderers.images import GRAPH_FORMATS, RenderError, render

    parser = store_parser("autoprov graph", run=True)
    parser.add_argument("-o", "--output", default=None, metavar="FILE", help="graph.dot/.svg/.png/.pdf (default: graph.svg in the run folder)")
    parser.add_argument("--collapse", choices=("auto", "yes", "no"), default="auto", help="collapse repeated calls (default: above 60 activities)")
    parser.add_argument("--timeout", type=float, default=60.0, help="layout time limit in seconds")
    parser.add_argument("--all", action="store_true", help="every activity: also the property reads (dataset.models) and the commands libraries start for themselves (matplotlib's fc-list...), and loops call by call instead of one 'N x (...)' node each")
    options = parser.parse_args(argv)
    run_dir = run_folder(options)
    output = options.output or str(RunFolder(run_dir).graph("svg"))
    suffix = Path(output).suffix.lstrip(".").lower() if output != "-" else "dot"
    if suffix not in ("dot", "gv", *GRAPH_FORMATS):
        raise UsageError(f"cannot tell the graph format from {output!r}: use .dot, .svg, .png or .pdf")
    collapse = {"auto": None, "yes": True, "no": False}[options.collapse]
    text = to_dot(load(run_dir), collapse=collapse, complete=options.all, grouped=not options.all)
    if suffix in ("dot", "gv"):
        _deliver(text, output)
        return 0
    try:
        image = render(text, suffix, timeout=options.timeout)
    except RenderError as error:
        raise UsageError(str(error)) from None
    _deliver(image, output)
    return 0
