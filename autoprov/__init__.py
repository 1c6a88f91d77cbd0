"""autoprov: automatic W3C PROV / IVOA provenance capture for unchanged Python analyses.

Run a script unchanged with ``python -m autoprov script.py``, or capture part of a session::

    import autoprov
    with autoprov.capture():
        ...  # calls into gammapy and file I/O are recorded under .prov/<run-id>/

and query the runs of a store (``autoprov.Store().runs()``, ``.diff(a, b)``, ``.lineage(path)``).
In IPython or Jupyter, ``%load_ext autoprov`` gives ``%autoprov start|stop|status`` and ``%%autoprov``.
"""

from __future__ import annotations

from typing import Any

from .version import __version__
__all__ = ["Store", "__version__", "capture", "load_ipython_extension", "start", "stop"]

_current: Any = None


def capture(
    *,
    filters: list[str] | None = None,
    match: list[str] | None = None,
    formats: str | None = None,
    graphs: str | None = None,
    quiet: bool = False,
    **options: Any,
):
    """A :class:`autoprov.session.capture.Capture` (context manager, decorator, or start()/stop()).

    Built by :meth:`Capture.from_options`, as ``python -m autoprov`` builds its capture: ``filters``
    and ``match`` select activities as ``--filter`` and ``--match`` do (the gammapy filter by
    default when gammapy is installed, or ``[tool.autoprov] filters``); ``formats`` / ``graphs`` /
    ``embed`` as ``--format`` / ``--graph`` / ``--embed`` (``[tool.autoprov] embed`` by default);
    ``store`` as ``--store`` (a folder or a ``postgresql://`` URL); ``engine``, ``hash_algorithm``.
    Inside a live session there is no process exit to wait for, so the documents are written and
    the run is indexed when the capture stops, and one summary line names the run folder
    (``quiet=True`` drops it).  ``stop()`` returns the finished :class:`autoprov.session.run.Run`,
    which is also ``capture.finished`` once a ``with`` block has ended.
    """
    from .session.capture import Capture

    return Capture.from_options(filters=filters, match=match, formats=formats, graphs=graphs, export="sync",
                                announce=not quiet, **options)


def start(**options: Any):
    """Start capturing now (like a profiler), with the options of :func:`capture`; returns the Capture."""
    global _current
    _current = capture(**options).start()
    return _current


def stop():
    """Stop the capture begun by :func:`start`; returns the finished :class:`autoprov.session.run.Run`."""
    global _current
    current, _current = _current, None
    return None if current is None else current.stop()


def __getattr__(name: str) -> Any:
    """``autoprov.Store``, imported on first use: the index's database code stays out of ``import autoprov``."""
    if name == "Store":
        from .index.api import Store

        return Store
    raise AttributeError(f"module 'autoprov' has no attribute {name!r}")


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext autoprov``: the ``%autoprov`` magics (:mod:`autoprov.notebook`; IPython is imported only here)."""
    from .notebook import load

    load(ipython)
