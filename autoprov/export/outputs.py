"""Write a run's documents into its folder: PROV-JSON, PROV-N, PROV-XML, Turtle, the HTML report,
environment, graphs.

The formats are the entries of :data:`~.renderers.RENDERERS`.  PROV-JSON is always written
(streamed); the other documents go through ``prov.model`` and are skipped, with a note, when the
run is too large for it to be quick (each renderer's ``limit``), or when their optional libraries
(lxml for XML, rdflib for Turtle: ``pip install autoprov[rdf]``) are missing.  ``autoprov export`` asks for a format explicitly and lifts the size limits.  Every file
is written atomically.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..store.atomic import atomic_write
from ..store.layout import RunFolder
from .model import RunModel
from .names import utc
from .renderers import FORMATS
from .renderers.images import RenderError, dot_program
from .renderers.images import render as draw
from .renderers import RENDERERS


class Written:
    """What an export produced: files, record count and notes for the user."""

    def __init__(self) -> None:  # not a dataclass: see export/model.py (start-up)
        self.files: list[Path] = []
        self.records = 0
        self.notes: list[str] = []


def environment_document(model: RunModel) -> dict[str, Any]:
    """``environment.json``: the ENV event plus how the run went (times, status, resources)."""
    document: dict[str, Any] = {
        "run_id": model.run_id,
        "status": model.status,
        "exit_code": model.exit_code,
        "start": utc(model.start).isoformat() if model.start is not None else None,
        "stop": utc(model.end).isoformat() if model.end is not None else None,
        "command_line": model.info.get("argv"),
        "engine": model.info.get("engine"),
    }
    for key in ("duration", "cpu_time", "peak_rss"):
        document[key] = model.exit_info.get(key)
    document.update(model.environment or {"environment": "not recorded (the run did not stop normally)"})
    return document


def serialize(model: RunModel, fmt: str) -> str | bytes:
    """One rendering of the run in ``fmt``; RuntimeError when its optional library is missing."""
    renderer = RENDERERS[fmt]
    problem = renderer.missing()
    if problem:
        raise RuntimeError(problem)
    assert renderer.render is not None
    return renderer.render(model)


def write_run(
    run_dir: Path, model: RunModel, formats: tuple[str, ...] = FORMATS, graphs: tuple[str, ...] | None = None,
    asked: bool = True,
) -> Written:
    """Write the requested documents for ``model`` into ``run_dir`` (graphs None: svg when dot exists).

    PROV-JSON, ``environment.json`` and ``graph.dot`` are always written; then each requested
    document and graph image, each skipped with a note rather than failing the export.  A format
    whose optional library is not installed is skipped silently unless the user ``asked`` for the
    formats (``--format``): the default formats are those the installed extras can write.
    """
    folder = RunFolder(Path(run_dir))
    written = Written()
    written.records = _write(written, model, folder, "json") or 0
    for fmt in formats:
        if fmt == "json":
            continue
        renderer = RENDERERS[fmt]
        name = renderer.target(folder).name
        if renderer.limit is not None and written.records > renderer.limit:
            written.notes.append(f"{name} skipped: {written.records} records (> {renderer.limit}); run `autoprov export {model.run_id} --format {fmt}`")
            continue
        problem = renderer.missing()
        if problem:
            if asked:
                written.notes.append(f"{name} skipped: {problem}")
            continue
        _write(written, model, folder, fmt)
    atomic_write(folder.environment, json.dumps(environment_document(model), indent=2, default=repr) + "\n")
    written.files.append(folder.environment)
    dot_text = RENDERERS["dot"].render(model)  # type: ignore[misc]
    atomic_write(folder.graph("dot"), dot_text)
    written.files.append(folder.graph("dot"))
    if graphs is None:
        graphs = ("svg",) if dot_program() else ()
        if not graphs:
            written.notes.append("graph image skipped: Graphviz `dot` not found (install graphviz); graph.dot written")
    for fmt in graphs:
        try:
            image = draw(dot_text, fmt)
        except RenderError as error:
            written.notes.append(f"graph.{fmt} skipped: {error}")
            continue
        atomic_write(folder.graph(fmt), image)
        written.files.append(folder.graph(fmt))
    return written


def _write(written: Written, model: RunModel, folder: RunFolder, fmt: str) -> int | None:
    renderer = RENDERERS[fmt]
    path = renderer.target(folder)
    count = renderer.output(model, path)
    written.files.append(path)
    return count
