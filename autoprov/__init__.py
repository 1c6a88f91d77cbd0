"""autoprov: automatic W3C PROV / IVOA provenance capture for unchanged Python analyses.

Run a script unchanged with ``python -m autoprov script.py``, or capture part of a session::

    import autoprov
    with autoprov.capture():
        ...  # calls into gammapy and file I/O are recorded under .prov/<run-id>/
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "capture", "start", "stop"]

_current: Any = None


def capture(
    *,
    filters: list[str] | None = None,
    match: list[str] | None = None,
    formats: str | None = None,
    graphs: str | None = None,
    **options: Any,
):
    """A :class:`autoprov.session.Capture` (context manager, decorator, or start()/stop()).

    ``filters`` and ``match`` select activities as ``--filter`` and ``--match`` do (the gammapy
    filter by default); ``formats`` / ``graphs`` as ``--format`` / ``--graph``.  Inside a live
    session there is no process exit to wait for, so the documents are written when the capture
    stops, and one summary line names the run folder (``quiet=True`` drops it).
    """
    from .export.cli import ExportStep, parse_formats, parse_graphs
    from .matching import build_matcher
    from .session import Capture

    export = ExportStep(parse_formats(formats), parse_graphs(graphs), mode="sync")
    quiet = bool(options.get("quiet"))

    def export_and_report(run_dir: Any) -> None:
        export(run_dir)
        if not quiet:
            import sys

            for line in export.summary(run_dir):
                print(line, file=sys.stderr)

    return Capture(build_matcher(filters=filters, match=match), post_run=[export_and_report], **options)


def start(**options: Any):
    """Start capturing now (like a profiler); returns the Capture."""
    global _current
    _current = capture(**options).start()
    return _current


def stop():
    """Stop the capture begun by :func:`start`; returns the run folder."""
    global _current
    current, _current = _current, None
    return None if current is None else current.stop()
