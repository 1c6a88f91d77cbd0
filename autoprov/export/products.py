"""A run's files as a user sees them: what it read as its inputs, what it left as its outputs.

The record keeps every version of every file; a reader (the HTML report, ``autoprov verify``,
``autoprov rerun``, the FITS embedding) asks a simpler question: which files did the run find and
read (its *inputs*: version 0, as found before the run), and which files did it leave behind (its
*outputs*: the last version of each file it wrote, unless it removed or renamed it away).  A file
the run read and then rewrote is an output only: its input version no longer exists on disk.
"""

from __future__ import annotations

from typing import NamedTuple

from .model import EntityKey, RunModel


class FileVersion(NamedTuple):
    """One version of one file, with its recorded digest and the activities that read or wrote it."""

    path: str
    version: int
    algorithm: str | None
    digest: str | None
    size: int | None
    roles: tuple[str, ...]
    activities: tuple[int | None, ...]  # None: the run itself (the script's own I/O)

    @property
    def key(self) -> EntityKey:
        return ("file", self.path, self.version)


def _version(model: RunModel, key: EntityKey, links: list) -> FileVersion:
    algorithm, digest, size, _ = model.digests.get((key[1], key[2]), (None, None, None, None))
    roles = tuple(dict.fromkeys(link.role for link in links))
    activities = tuple(dict.fromkeys(link.act for link in links))
    return FileVersion(key[1], key[2], algorithm, digest, size, roles, activities)


def inputs(model: RunModel) -> list[FileVersion]:
    """Files the run read as it found them (version 0) and did not write afterwards, by path."""
    written = {link.entity[1] for link in model.generated if link.entity[0] == "file"}
    found: dict[EntityKey, list] = {}
    for link in model.used:
        key = link.entity
        if key[0] == "file" and key[2] == 0 and key[1] not in written:
            found.setdefault(key, []).append(link)
    return [_version(model, key, links) for key, links in sorted(found.items())]


def outputs(model: RunModel) -> list[FileVersion]:
    """The last version of every file the run wrote, unless the run removed or renamed it away."""
    last: dict[str, EntityKey] = {}
    links: dict[EntityKey, list] = {}
    for link in model.generated:
        key = link.entity
        if key[0] != "file":
            continue
        links.setdefault(key, []).append(link)
        if key[1] not in last or key[2] > last[key[1]][2]:
            last[key[1]] = key
    gone = {entity for entity, _, _ in model.invalidated}
    return [_version(model, key, links[key]) for path, key in sorted(last.items()) if key not in gone]


def program(model: RunModel) -> FileVersion | None:
    """The script the run executed, as recorded with the environment (None for ``-m`` or sessions)."""
    script = (model.environment or {}).get("script")
    if not isinstance(script, dict) or not script.get("path"):
        return None
    return FileVersion(script["path"], 0, script.get("algorithm"), script.get("digest"), script.get("size"), ("program",), (None,))
