"""Write a run's documents into its folder: PROV-JSON, PROV-N, PROV-XML, Turtle, environment, graphs.

PROV-JSON is always streamed (:mod:`.provjson`); the other serialisations go through ``prov.model``
and are skipped, with a note, when the run is too large for it to be quick (``limits``), or when
their optional libraries (lxml for XML, rdflib for Turtle: ``pip install autoprov[rdf]``) are
missing.  ``autoprov export`` asks for a format explicitly and lifts the size limits.  Every file
is written atomically.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..store import atomic_write
from . import provjson
from .dot import to_dot
from .model import RunModel
from .names import FORMATS, utc
from .render import RenderError, dot_program, render

SUFFIX = {"json": "json", "provn": "provn", "xml": "xml", "ttl": "ttl"}
# Records above which a post-run export skips a prov.model format (build ~23 us/record; Turtle ~0.4 ms/record).
LIMITS = {"provn": 60_000, "xml": 60_000, "ttl": 20_000}
NEEDS = {"xml": ("lxml", "PROV-XML needs lxml"), "ttl": ("rdflib", "Turtle needs rdflib")}


@dataclass
class Written:
    """What an export produced: files, record count and notes for the user."""

    files: list[Path] = field(default_factory=list)
    records: int = 0
    notes: list[str] = field(default_factory=list)


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


def serialize(model: RunModel, fmt: str) -> str:
    """One prov.model serialisation of the run (provn, xml or ttl)."""
    from .provdoc import document

    if fmt in NEEDS and importlib.util.find_spec(NEEDS[fmt][0]) is None:
        raise RuntimeError(f"{NEEDS[fmt][1]}: pip install 'autoprov[rdf]'")
    doc = document(model)
    if fmt == "provn":
        return doc.get_provn() + "\n"
    if fmt == "xml":
        return doc.serialize(format="xml")
    if fmt == "ttl":
        return doc.serialize(format="rdf", rdf_format="turtle")
    raise ValueError(f"unknown format {fmt!r}")


def write_run(
    run_dir: Path, model: RunModel, formats: tuple[str, ...] = FORMATS, graphs: tuple[str, ...] | None = None,
) -> Written:
    """Write the requested documents for ``model`` into ``run_dir`` (graphs None: svg when dot exists)."""
    written = Written()
    path = run_dir / "provenance.json"
    written.records = provjson.write(model, path)
    written.files.append(path)
    for fmt in formats:
        if fmt == "json":
            continue
        if written.records > LIMITS[fmt]:
            written.notes.append(f"provenance.{fmt} skipped: {written.records} records (> {LIMITS[fmt]}); run `autoprov export {model.run_id} --format {fmt}`")
            continue
        try:
            text = serialize(model, fmt)
        except RuntimeError as error:
            written.notes.append(f"provenance.{fmt} skipped: {error}")
            continue
        path = run_dir / f"provenance.{SUFFIX[fmt]}"
        atomic_write(path, text)
        written.files.append(path)
    path = run_dir / "environment.json"
    atomic_write(path, json.dumps(environment_document(model), indent=2, default=repr) + "\n")
    written.files.append(path)
    dot_text = to_dot(model)
    path = run_dir / "graph.dot"
    atomic_write(path, dot_text)
    written.files.append(path)
    if graphs is None:
        graphs = ("svg",) if dot_program() else ()
        if not graphs:
            written.notes.append("graph image skipped: Graphviz `dot` not found (install graphviz); graph.dot written")
    for fmt in graphs:
        try:
            image = render(dot_text, fmt)
        except RenderError as error:
            written.notes.append(f"graph.{fmt} skipped: {error}")
            continue
        path = run_dir / f"graph.{fmt}"
        atomic_write(path, image)
        written.files.append(path)
    return written
