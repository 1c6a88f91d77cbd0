"""Checking a record against the world: ``autoprov verify`` (are the run's files still what it
read and wrote?) and ``autoprov rerun`` (does the program still produce the same results?).

:mod:`.verify` recomputes digests, :mod:`.compare` compares an output with its re-made twin the
way a scientist would (FITS data and headers apart from write-time stamps, parsed YAML and JSON,
numbers within a tolerance), :mod:`.mirror` builds the scratch working directory a re-run writes
into, :mod:`.guard` stops a re-run from touching the original run's files, and :mod:`.rerun`
puts them together.
"""
