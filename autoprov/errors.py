"""Errors autoprov reports to users, each with a short id documented in docs/errors.md.

Everything raised here is turned into one line on stderr and exit status 2 by :mod:`autoprov.cli`,
before the user's script starts.
"""

from __future__ import annotations


class AutoprovError(Exception):
    """Base class: ``code`` is the short id users can look up."""

    code = "AP000"

    def __str__(self) -> str:
        return f"{super().__str__()} [{self.code}]"


class UsageError(AutoprovError):
    """A bad command line or option (unknown engine, missing script, conflicting options)."""

    code = "AP001"


class FilterError(AutoprovError):
    """A filter file that cannot be read or does not validate."""

    code = "AP002"


class StoreError(AutoprovError):
    """The provenance store cannot be used (not a directory, not writable, unknown run)."""

    code = "AP003"


class ReproduceError(AutoprovError):
    """A re-run that cannot start: inputs changed since the run (without --force), outputs outside
    its working directory, a scratch folder in use."""

    code = "AP004"


class RecordError(AutoprovError):
    """A run's record cannot be read: not an event log, unreadable, or written by another program."""

    code = "AP005"


class IndexDatabaseError(AutoprovError):
    """The run index database cannot be used: server down, wrong password, locked, or too new.

    Indexing after a run never changes the run: the folder is kept, one line says why, and
    ``autoprov index`` adds the run later.
    """

    code = "AP006"


class ForeignLogError(AutoprovError):
    """Another program's provenance log that cannot be imported (``autoprov import ctapipe``): not
    JSON, or JSON that is not a list of ctapipe activities; the message names the file, line and column."""

    code = "AP007"
