"""The matcher stage: the YAML filter language, compiled into the decision the engines consult.

Public entry point: :func:`build_matcher` (runs, sessions and ``autoprov filters`` all use it).
Inside: :mod:`.locate` (where filters come from, in which order), :mod:`.parse` (one file, safely),
:mod:`.validate` / :mod:`.schema` / :mod:`.pig17` (the language), :mod:`.compiler` (to entries),
:mod:`.cache`, :mod:`.matcher` (entries -> a :class:`~.rules.Rule` per function), :mod:`.plans`
(the per-code-object plan the engines cache).
"""

from .build import build_matcher, match_entries

__all__ = ["build_matcher", "match_entries"]
