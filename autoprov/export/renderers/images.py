"""Render DOT text with Graphviz's ``dot`` program, with a time limit.

Layout is the slow part of drawing provenance, so rendering runs in a child process that is
killed after ``timeout`` seconds; a missing ``dot`` or a timeout is reported, never raised into
the user's run.  ``shutil`` and ``subprocess`` are imported only when an image is drawn: the
post-run export of ``python -m autoprov`` imports this module but leaves drawing to the detached
exporter, and every import there is paid by every run.
"""

from __future__ import annotations

from . import GRAPH_FORMATS

RENDER_TIMEOUT = 60.0
MISSING = "Graphviz `dot` was not found: graph.dot written, no image (install graphviz, e.g. `apt-get install graphviz`)"
# Layout hints that Graphviz's own bugs trip over (edges "lost" in routesplines with newrank and
# constraint=false); the drawing is still right without them, only less tidy.
FRAGILE_HINTS = (", newrank=true", "constraint=false, ", ", constraint=false", "[constraint=false]")


_last: tuple[tuple[str, str], bytes] | None = None  # the latest layout: graph.svg and the report share it


class RenderError(Exception):
    """Graphviz is missing, failed or took too long."""


def dot_program() -> str | None:
    import shutil

    return shutil.which("dot")


def render(dot_text: str, fmt: str, timeout: float = RENDER_TIMEOUT) -> bytes:
    """The image bytes of ``dot_text`` in ``fmt`` (svg, png or pdf).

    The latest result is kept: an export that writes both ``graph.svg`` and the HTML report lays
    the same graph out once (layout is the slow part).  When Graphviz fails on the drawing (not on
    time), it is tried once more without the layout hints in :data:`FRAGILE_HINTS`; only when that
    fails too is the failure reported.
    """
    global _last
    if _last is not None and _last[0] == (dot_text, fmt):
        return _last[1]
    if fmt not in GRAPH_FORMATS:
        raise RenderError(f"unknown graph format {fmt!r}; choose from {', '.join(GRAPH_FORMATS)}")
    program = dot_program()
    if program is None:
        raise RenderError(MISSING)
    try:
        image = _run(program, dot_text, fmt, timeout)
    except _Failed as failure:
        plain = dot_text
        for hint in FRAGILE_HINTS:
            plain = plain.replace(hint, "")
        if plain == dot_text:
            raise RenderError(f"Graphviz failed ({failure})") from None
        try:
            image = _run(program, plain, fmt, timeout)
        except _Failed as again:
            raise RenderError(f"Graphviz failed ({again})") from None
    _last = ((dot_text, fmt), image)
    return image


class _Failed(Exception):
    """Graphviz ran and refused the drawing (its last message line)."""


def _run(program: str, dot_text: str, fmt: str, timeout: float) -> bytes:
    import subprocess

    try:
        done = subprocess.run([program, f"-T{fmt}"], input=dot_text.encode("utf-8"), capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RenderError(f"Graphviz did not lay out the graph within {timeout:g} s; graph.dot is written") from None
    except OSError as error:
        raise RenderError(f"Graphviz could not be started ({error.strerror})") from None
    if done.returncode != 0 or not done.stdout:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise _Failed(message[-1] if message else f"status {done.returncode}")
    return done.stdout
