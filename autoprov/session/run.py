"""A finished run: what :meth:`Capture.stop` returns and what the commands and magics work with.

The live :class:`~autoprov.session.capture.Capture` records; a :class:`Run` is the immutable result, as
pyinstrument separates its Profiler from the Session it produces.  It names the run (id, folder),
says how it ended and what the export reported, and builds the :class:`RunModel` of its events on
demand, once.  A Run is path-like (``os.fspath(run)`` is its folder), so code that treated the
folder returned by ``stop()`` as a path keeps working.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..store import RunFolder, default_store, find_run

if TYPE_CHECKING:
    from ..export.model import RunModel


class Run:
    """One recorded run in a store."""

    __slots__ = ("folder", "_status", "_exit_code", "notes", "summary", "_model")

    def __init__(
        self,
        path: Path | str,
        status: str | None = None,
        exit_code: int | None = None,
        notes: tuple[str, ...] = (),
        summary: tuple[str, ...] = (),
        model: RunModel | None = None,
    ) -> None:
        self.folder = RunFolder(Path(path))
        self._status = status
        self._exit_code = exit_code
        self.notes = tuple(notes)  # what the export step had to say (skipped formats...)
        self.summary = tuple(summary)  # the lines printed at the end of a run
        self._model = model

    @classmethod
    def find(cls, run: str = "latest", store: Path | str | None = None) -> Run:
        """The run ``run`` (id, unique prefix or ``latest``) of ``store`` (a folder or a ``postgresql://``
        URL, whose runs are in the local folder; default: the default store)."""
        from ..store.location import resolve_store

        return cls(find_run(resolve_store(os.fspath(store)).runs if store else default_store(), run))

    @property
    def run_id(self) -> str:
        return self.folder.run_id

    @property
    def path(self) -> Path:
        return self.folder.path

    @property
    def name(self) -> str:
        """The run id (the folder's name), as for the path ``stop()`` used to return."""
        return self.folder.run_id

    def model(self) -> RunModel:
        """The run's events read into a :class:`RunModel` (read once, then kept)."""
        if self._model is None:
            from ..export import load

            self._model = load(self.folder.path)
        return self._model

    @property
    def status(self) -> str:
        """completed, failed, interrupted, or incomplete (no EXIT event: the process died)."""
        return self._status if self._status is not None else self.model().status

    @property
    def exit_code(self) -> int | None:
        return self._exit_code if self._status is not None else self.model().exit_code

    # -- rich display (notebooks): the summary and the graph inline --------------------------------

    def graph_svg(self) -> str | None:
        """The run's graph as SVG: ``graph.svg`` when the export wrote it, else drawn now; None
        without Graphviz."""
        path = self.folder.graph("svg")
        if path.exists():
            return path.read_text(encoding="utf-8")
        from ..export.renderers.images import RenderError, dot_program, render

        if dot_program() is None:
            return None
        from ..export.renderers.dot import to_dot

        try:
            return render(to_dot(self.model()), "svg").decode("utf-8")
        except RenderError:
            return None

    def _repr_svg_(self) -> str | None:
        return self.graph_svg()

    def _repr_html_(self) -> str:
        import html  # notebooks only: html.entities is ~1 ms of a run's start-up

        summary = "\n".join(self.summary) or repr(self)
        svg = self.graph_svg()
        graph = svg[svg.find("<svg"):] if svg and "<svg" in svg else ""
        return f'<div class="autoprov-run"><pre>{html.escape(summary)}</pre>{graph}</div>'

    def __fspath__(self) -> str:
        return os.fspath(self.folder.path)

    def __repr__(self) -> str:
        return f"<autoprov.Run {self.run_id} {self.status} at {self.folder.path}>"

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, Run) and other.folder == self.folder

    def __hash__(self) -> int:
        return hash(self.folder)
