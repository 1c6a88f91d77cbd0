"""Build the matcher a run uses from command-line options, the environment and the project.

``--match`` patterns give a :class:`PatternMatcher` directly (``module:qualname`` globs).
"""

from __future__ import annotations

from .rules import Matcher, PatternMatcher


def build_matcher(filters: list[str] | None = None, match: list[str] | None = None, debug: bool = False) -> Matcher:
    """The matcher for a run: ``--match`` patterns (filters are added by the filter language)."""
    return PatternMatcher(list(match or []))
