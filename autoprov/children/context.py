"""What a child process needs to join its parent's run, and how it is handed over.

The context travels as JSON in the ``AUTOPROV_CHILD`` environment variable (subprocesses, exec,
Ray workers) or pickled with a multiprocessing child's preparation data.  The run's compiled
filters travel as a file, ``children/matcher.pickle`` in the run folder, written when the first
child that needs it starts: a child loads them in half a millisecond instead of parsing YAML, and
decides exactly as its parent does.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..store.atomic import atomic_write
from ..store.layout import RunFolder

CHILD_ENV = "AUTOPROV_CHILD"
SWITCH_ENV = "AUTOPROV_CHILDREN"  # "0": do not follow child processes


def children_enabled() -> bool:
    """False when ``AUTOPROV_CHILDREN=0`` (``--no-children``) turns child capture off."""
    return os.environ.get(SWITCH_ENV, "1").strip().lower() not in ("0", "no", "off", "false")


class ChildContext:
    """The run a child joins and who handed it over (a plain class: see :class:`autoprov.children.Live`)."""

    FIELDS = ("run_dir", "run_id", "engine", "hash_algorithm", "store", "root_pid", "parent", "act")

    def __init__(self, run_dir: str, run_id: str, engine: str, hash_algorithm: str, store: str, root_pid: int,
                 parent: str, act: int | None = None) -> None:
        self.run_dir = run_dir
        self.run_id = run_id
        self.engine = engine
        self.hash_algorithm = hash_algorithm
        self.store = store
        self.root_pid = root_pid
        self.parent = parent  # key of the process this context was handed over from
        self.act = act  # the activity of ``parent`` that started the child, when known here
        self.matcher: Any = None  # in memory only (a fork inherits it; others read the run folder)

    def encode(self) -> str:
        return json.dumps({name: getattr(self, name) for name in self.FIELDS}, separators=(",", ":"))

    @classmethod
    def decode(cls, text: str) -> ChildContext:
        data = json.loads(text)
        return cls(*(data[name] for name in cls.FIELDS[:-1]), act=data.get("act"))

    def handed_over(self, parent: str, act: int | None = None) -> ChildContext:
        """The context a child of process ``parent`` receives."""
        child = ChildContext(self.run_dir, self.run_id, self.engine, self.hash_algorithm, self.store, self.root_pid, parent, act)
        child.matcher = self.matcher
        return child

    @property
    def folder(self) -> RunFolder:
        """The run folder: where it was handed over, or in its store once the run that staged it
        ended (the successor of an exec'd first process starts after that)."""
        path = Path(self.run_dir)
        if not path.is_dir() and (Path(self.store) / self.run_id).is_dir():
            path = Path(self.store) / self.run_id
        return RunFolder(path)

    # -- the environment of children started from this process -------------------------------

    def export_environment(self) -> None:
        """Children started from here (subprocess, exec) inherit the run: set ``AUTOPROV_CHILD``."""
        self.share_matcher()
        os.environ[CHILD_ENV] = self.encode()

    @staticmethod
    def clear_environment() -> None:
        os.environ.pop(CHILD_ENV, None)

    # -- the compiled filters ------------------------------------------------------------------

    def share_matcher(self) -> None:
        """Write ``children/matcher.pickle`` once (owner-only), for children that start afresh."""
        path = self.folder.child_matcher
        if self.matcher is None or path.exists():
            return
        import pickle

        path.parent.mkdir(mode=0o750, exist_ok=True)
        atomic_write(path, pickle.dumps((self.matcher.entries, self.matcher.sources), protocol=pickle.HIGHEST_PROTOCOL))
        os.chmod(path, 0o600)

    def load_matcher(self) -> Any:
        """The run's matcher: inherited (a fork), else read from the run folder."""
        if self.matcher is None:
            import pickle

            from ..filtering.matcher import FilterMatcher

            with open(self.folder.child_matcher, "rb") as handle:
                entries, sources = pickle.load(handle)  # written by this run's first process, owner-only
            self.matcher = FilterMatcher(entries, sources=sources)
        return self.matcher


def exclude_folder(file_events: Any, folder: str) -> None:
    """Leave ``folder`` out of the record of ``file_events`` (the run folder, Ray's session folder)."""
    from ..recorder.paths import Scope

    scope = file_events.scope
    folder = os.path.abspath(folder)
    if folder not in scope.folders:
        file_events.scope = Scope((*scope.folders, folder), scope.kept)
