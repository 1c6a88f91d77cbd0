"""The export stage: a run's events read into a :class:`~.model.RunModel` and written as documents.

The command line and the post-run step use this facade: :func:`load` (the events of a run folder,
its child processes' logs merged), :func:`write_run` (the chosen documents and graph images into
the folder) and :func:`serialize` (one format as text or bytes), and the format names
(:data:`FORMATS`, :data:`GRAPH_FORMATS`), derived from the renderer registry.  The model and the
renderers are imported when a function runs: the format names are read at every run's start-up.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .renderers import FORMATS, GRAPH_FORMATS

if TYPE_CHECKING:
    from .model import RunModel
    from .outputs import Written

__all__ = ["FORMATS", "GRAPH_FORMATS", "load", "serialize", "write_run"]


def load(run_dir: Path | str) -> RunModel:
    """The run's events (of every process) read into a :class:`RunModel`."""
    from .model import load as read

    return read(Path(run_dir))


def write_run(run_dir: Path, model: RunModel, formats: tuple[str, ...] = FORMATS, graphs: tuple[str, ...] | None = None,
              asked: bool = True) -> Written:
    """Write the documents ``formats`` and graph images ``graphs`` of ``model`` into ``run_dir``
    (``asked``: the formats were named by the user, so a missing extra is worth a note)."""
    from .outputs import write_run as write

    return write(run_dir, model, formats, graphs, asked)


def serialize(model: RunModel, fmt: str) -> str | bytes:
    """One rendering of the run in ``fmt``; RuntimeError when its optional library is missing."""
    from .outputs import serialize as render

    return render(model, fmt)
