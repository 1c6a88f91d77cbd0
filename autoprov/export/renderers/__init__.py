"""The renderers: a registry of pure functions of a :class:`RunModel`, one per output format.

Each :class:`Renderer` says what it produces (a PROV document or a graph image), which file of the
run folder it fills, whether it needs an optional library, and above how many PROV records a
post-run export skips it (``prov.model`` costs ~23 us per record, Turtle ~0.4 ms).  Adding a format
(as the HTML report was) is adding one entry, and every list of format names (:data:`FORMATS`,
:data:`GRAPH_FORMATS`) follows; :mod:`..outputs` writes whatever the user chose.
PROV-JSON is the exception that streams: its renderer writes the file itself, so a run of 100,000
activities is never held as one string.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from ...records import NamedTuple

from ...store.atomic import atomic_write
from ...store.layout import RunFolder

if TYPE_CHECKING:  # the model is imported when a renderer runs: the format names are read at start-up
    from ..model import RunModel


class Renderer(NamedTuple):
    """One output format.  ``render`` returns the file's content; ``write`` (streamed formats)
    writes it and returns the number of PROV records."""

    name: str
    kind: str  # "document" | "graph" (DOT text) | "image" (a drawing of the graph) | "report"
    target: Callable[[RunFolder], Path]
    render: Callable[[RunModel], str | bytes] | None = None
    write: Callable[[RunModel, Path], int] | None = None
    needs: tuple[str, str] | None = None  # (module, what to tell the user) of an optional dependency
    limit: int | None = None  # records above which a post-run export skips this format

    def missing(self) -> str | None:
        """Why this renderer cannot run here, or None."""
        import importlib.util

        if self.needs and importlib.util.find_spec(self.needs[0]) is None:
            return f"{self.needs[1]}: pip install 'autoprov[rdf]'"
        return None

    def output(self, model: RunModel, path: Path) -> int | None:
        """Write this format for ``model`` to ``path`` (atomically); the record count if streamed."""
        if self.write is not None:
            return self.write(model, path)
        assert self.render is not None
        atomic_write(path, self.render(model))
        return None


def _provjson(model: RunModel, path: Path) -> int:
    from . import provjson

    return provjson.write(model, path)


def _prov_serialisation(fmt: str) -> Callable[[RunModel], str]:
    def render(model: RunModel) -> str:
        from .provdoc import document

        doc = document(model)
        if fmt == "provn":
            return doc.get_provn() + "\n"
        if fmt == "xml":
            return doc.serialize(format="xml")
        return doc.serialize(format="rdf", rdf_format="turtle")

    render.__name__ = f"render_{fmt}"
    return render


def _dot(model: RunModel) -> str:
    from .dot import to_dot

    return to_dot(model)


def _image(fmt: str) -> Callable[[RunModel], bytes]:
    def render(model: RunModel) -> bytes:
        from .images import render as draw

        return draw(_dot(model), fmt)

    render.__name__ = f"render_{fmt}"
    return render


def _report(model: RunModel) -> str:
    from .report import render

    return render(model)


def _document(suffix: str) -> Callable[[RunFolder], Path]:
    return lambda folder: folder.document(suffix)


def _graph(suffix: str) -> Callable[[RunFolder], Path]:
    return lambda folder: folder.graph(suffix)


RENDERERS: dict[str, Renderer] = {
    "json": Renderer("json", "document", _document("json"), write=_provjson),
    "provn": Renderer("provn", "document", _document("provn"), render=_prov_serialisation("provn"), limit=60_000),
    "xml": Renderer("xml", "document", _document("xml"), render=_prov_serialisation("xml"),
                    needs=("lxml", "PROV-XML needs lxml"), limit=60_000),
    "ttl": Renderer("ttl", "document", _document("ttl"), render=_prov_serialisation("ttl"),
                    needs=("rdflib", "Turtle needs rdflib"), limit=20_000),
    "dot": Renderer("dot", "graph", _graph("dot"), render=_dot),
    "svg": Renderer("svg", "image", _graph("svg"), render=_image("svg")),
    "png": Renderer("png", "image", _graph("png"), render=_image("png")),
    "pdf": Renderer("pdf", "image", _graph("pdf"), render=_image("pdf")),
    # the self-contained HTML report; above ~30,000 activities its embedded data slows browsers down
    "html": Renderer("html", "report", lambda folder: folder.report, render=_report, limit=200_000),
}

# the documents a run can be exported to (``--format``; html: the report), and the graph images (``--graph``)
FORMATS = tuple(name for name, renderer in RENDERERS.items() if renderer.kind in ("document", "report"))
GRAPH_FORMATS = tuple(name for name, renderer in RENDERERS.items() if renderer.kind == "image")
