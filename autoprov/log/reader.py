"""Reading a run's event log back: the one reader of ``events.jsonl``.

The log is append-only JSON lines, one batch of events per line; a torn last line (the process
died mid-write) and a corrupt batch are skipped, so a crashed run still reads back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from ..store.layout import RunFolder


def read_events(run_dir: Path | str) -> Iterator[list]:
    """The events of a run, in order; a torn or corrupt batch (a crash mid-write) is skipped."""
    path = RunFolder(Path(run_dir)).events
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if not line.endswith("\n"):
                return  # the process died while writing this batch
            try:
                batch = json.loads(line)
            except ValueError:
                continue
            yield from batch
