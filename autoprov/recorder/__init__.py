"""The recorder stage: matched calls and file events become plain event tuples in a buffer.

:mod:`.activities` keeps the per-thread activity stacks, :mod:`.arguments` turns arguments and
results into parameters and entity links, :mod:`.fileevents` turns audit events into file
versions (with the noise rules), :mod:`.files` hashes them, :mod:`.objects` gives Python objects
stable entity ids, :mod:`.values` renders values safely.
"""

from .activities import Recorder

__all__ = ["Recorder"]
