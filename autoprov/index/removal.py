"""Removing runs: the index rows and the run folder together (``autoprov rm``, ``autoprov gc``).

The rows go first, in one transaction, then the folder: if the database cannot be reached nothing
is removed, and if a folder cannot be deleted it is reported and ``autoprov index`` puts its rows
back, so the index never names a folder that is gone.  A run recorded on another machine whose
folder is not visible here (a shared PostgreSQL index) is refused, not half-removed: remove it
where it lives.  A row whose folder on this machine has vanished is dropped.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import StoreError
from ..store.layout import RunFolder
from .database import Database
from ..store.location import this_host
from .query import RunInfo
from .writer import delete_rows


@dataclass
class Removal:
    removed: list[str] = field(default_factory=list)  # run ids, folder and rows gone
    elsewhere: list[RunInfo] = field(default_factory=list)  # on other machines: left alone
    failed: list[str] = field(default_factory=list)  # "run: reason" for folders that could not be deleted


def removable(info: RunInfo) -> bool:
    """The folder is here (or already gone from this machine): this process may remove the run."""
    folder = Path(info.folder)
    if RunFolder(folder).is_run() and folder.name == info.run_id:
        return True
    return info.host == this_host() and not folder.exists()


def remove_runs(database: Database, runs: list[RunInfo], refuse_elsewhere: bool = True) -> Removal:
    result = Removal()
    here = [info for info in runs if removable(info)]
    result.elsewhere = [info for info in runs if not removable(info)]
    if result.elsewhere and refuse_elsewhere:
        info = result.elsewhere[0]
        raise StoreError(f"run {info.run_id} lives on {info.host} in {info.folder}, not visible here: run `autoprov rm` there")
    if not here:
        return result
    with database.write() as connection:
        delete_rows(connection, [info.run_id for info in here])
    for info in here:
        try:
            if os.path.isdir(info.folder):
                shutil.rmtree(info.folder)
            result.removed.append(info.run_id)
        except OSError as error:
            result.failed.append(f"{info.run_id}: {error.strerror or error}")
    return result
