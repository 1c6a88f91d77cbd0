"""Positions in filter files and the one-line error every filter problem becomes.

Kept free of YAML and pydantic so that a run whose filters come from the cache imports neither.
"""

from __future__ import annotations

from ..records import NamedTuple

from ..errors import FilterError

MAX_BYTES = 1024 * 1024  # a filter is tens of kilobytes; a megabyte is already absurd


# A NamedTuple, not a frozen dataclass: creating the class costs a quarter as much at import (start-up).
class Mark(NamedTuple):
    """A 1-based line and column in a filter file."""

    line: int
    column: int


def fail(label: str, mark: Mark | None, message: str) -> FilterError:
    """The one-line error every filter problem becomes: ``file:line:column: message``."""
    where = f"{label}:{mark.line}:{mark.column}" if mark else label
    return FilterError(f"filter {where}: {message}")


def pattern_problem(pattern: str, exclude: bool = False) -> str | None:
    """What is wrong with a ``module:qualname`` glob (``*:*`` would select the world), or None."""
    module, colon, qualname = pattern.partition(":")
    if not colon or not module or not qualname:
        return f"pattern {pattern!r} must look like 'module:qualname' (globs allowed, e.g. 'mypkg.*:Reducer.run')"
    if any(c.isspace() for c in pattern):
        return f"pattern {pattern!r} contains white space"
    if not exclude and not module.strip("*?.[]!"):
        return f"pattern {pattern!r} would match functions of every module; start it with a module name"
    return None
