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


def capture(*, filters: list[str] | None = None, match: list[str] | None = None, **options: Any):
    """A :class:`autoprov.session.Capture` (context manager, decorator, or start()/stop())."""
    from .matching import build_matcher
    from .session import Capture

    return Capture(build_matcher(filters=filters, match=match), **options)


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
