"""What a child process needs to join its parent's run, and how it is handed over.

The context travels as JSON in the ``AUTOPROV_CHILD`` environment variable (subprocesses, exec,
Ray workers) or serialised with a multiprocessing child's preparation data.  The run's filters
travel as a file, ``children/matcher.json`` in the run folder, written when the first child that
needs it starts: the filters the parent composed (each with the folder it was relative to) and its
``--match`` globs, so a child rebuilds the same matcher through the validated-filter cache and
decides exactly as its parent does.  JSON only: a run folder is only ever read as data.
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
        """Write ``children/matcher.json`` once (owner-only), for children that start afresh."""
        path = self.folder.child_matcher
        if self.matcher is None or path.exists():
            return
        recipe = getattr(self.matcher, "recipe", {"refs": [], "match": []})
        path.parent.mkdir(mode=0o750, exist_ok=True)
        atomic_write(path, json.dumps(recipe))
        os.chmod(path, 0o600)

    def load_matcher(self) -> Any:
        """The run's matcher: inherited (a fork), else rebuilt as the parent built it."""
        if self.matcher is None:
            from ..filtering import match_entries
            from ..filtering.locate import FilterRef, load_filter
            from ..filtering.matcher import FilterMatcher

            recipe = json.loads(self.folder.child_matcher.read_text(encoding="utf-8"))
            refs = [FilterRef(spec, origin, Path(base)) for spec, origin, base in recipe["refs"]]
            loaded = [load_filter(ref) for ref in refs]
            entries = [entry for one in loaded for entry in one.entries] + match_entries(recipe["match"])
            sources = [ref.spec for ref in refs] + [f"--match {pattern}" for pattern in recipe["match"]]
            self.matcher = FilterMatcher(entries, sources=sources, types=[t for one in loaded for t in one.types])
            self.matcher.recipe = recipe
        return self.matcher


def exclude_folder(file_events: Any, folder: str) -> None:
    """Leave ``folder`` out of the record of ``file_events`` (the run folder, Ray's session folder)."""
    from ..recorder.paths import Scope

    scope = file_events.scope
    folder = os.path.abspath(folder)
    if folder not in scope.folders:
        file_events.scope = Scope((*scope.folders, folder), scope.kept)
