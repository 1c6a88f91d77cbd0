"""Build the matcher a run uses from command-line options, the environment and the project.

Filters compose in the order described in :mod:`autoprov.filtering.locate` (later entries
override earlier ones); ``--match`` patterns (``module:qualname`` globs) come last, recording
every argument of the functions they select.  Everything is loaded and validated here, before the
program starts, so a broken filter stops the run with one line and status 2.
"""

from __future__ import annotations

from ..errors import FilterError
from .compiler import Entry, FunctionSelection
from .diagnostics import pattern_problem
from .locate import load_filter, requested
from .matcher import FilterMatcher
from .rules import Rule


def match_entries(patterns: list[str]) -> list[Entry]:
    """``--match`` patterns as include entries (a pattern without ':' selects a whole module)."""
    entries = []
    for pattern in patterns:
        full = pattern if ":" in pattern else f"{pattern}:*"
        problem = pattern_problem(full)
        if problem:
            raise FilterError(f"--match: {problem}")
        entries.append(Entry(FunctionSelection([full]), Rule(name="", rule_id=pattern), f"--match {pattern}"))
    return entries


def build_matcher(filters: list[str] | None = None, match: list[str] | None = None, debug: bool = False) -> FilterMatcher:
    """The matcher for a run (and for ``autoprov filters explain``): composed filters, then ``--match`` patterns."""
    refs = requested(filters)
    loaded = [load_filter(ref) for ref in refs]
    entries = [entry for one in loaded for entry in one.entries]
    entries += match_entries(list(match or []))
    sources = [ref.spec for ref in refs] + [f"--match {pattern}" for pattern in match or ()]
    matcher = FilterMatcher(entries, sources=sources, debug=debug, types=[t for one in loaded for t in one.types])
    # how to build it again elsewhere (a child process): the filters as asked for, and the globs
    matcher.recipe = {"refs": [[ref.spec, ref.origin, str(ref.base)] for ref in refs], "match": list(match or ())}
    if debug:
        matcher.warn_about_modules()
    return matcher
