"""A synthetic run: an event log of N activities and 2N entities, for the export benchmark.

The shape is that of a long pipeline: activity i uses the object activity i-1 generated (so
there are derivation chains), a fresh input object and, every 100th activity, an input file, and
generates one object; every activity has three scalar parameters and is nested in a parent
every tenth call.  Events follow :mod:`autoprov.events`; the log is what a real run writes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from autoprov import events
from autoprov.log.writer import EventLog
from autoprov.store import RunFolder

START_NS = 1_780_000_000_000_000_000
STEP_NS = 1_000_000


def synthetic_events(activities: int, run_id: str = "synthetic"):
    """Yield the events of a run with ``activities`` activities and ``2 * activities`` objects."""
    info = {"argv": ["pipeline.py"], "cwd": "/data", "pid": 1, "program": "pipeline.py", "engine": "monitoring",
            "engine_reason": "synthetic", "hash_algorithm": "xxh3_128", "python": "3.12.0"}
    yield (events.RUN, run_id, START_NS, info)
    t = START_NS
    parent = None
    for act in range(1, activities + 1):
        t += STEP_NS
        if act % 10 == 1:
            parent = None
        params = {"energy": 1.5 * act, "index": 2.5, "name": f"step-{act % 17}"}
        yield (events.ACT, act, parent, f"pipeline.Stage{act % 13}.run", "synthetic", t, "MainThread", params)
        fresh, generated = 2 * act - 1, 2 * act
        yield (events.OBJ, fresh, {"type": "gammapy.maps.WcsNDMap", "repr": f"WcsNDMap #{fresh}", "shape": [10, 200, 200]})
        yield (events.USE, act, "map", fresh, t)
        if act > 1:
            yield (events.USE, act, "dataset", generated - 2, t)
        if act % 100 == 0:
            path = f"/data/dl3/run_{act:06d}.fits.gz"
            yield (events.FILEARG, act, "filename", path, "used")
            yield (events.FILE, act, "read", path, t, 0)
            yield (events.DIGEST, path, 0, "xxh3_128", f"{act:032x}", 1_000_000, t)
        yield (events.OBJ, generated, {"type": "gammapy.datasets.MapDataset", "repr": f"MapDataset #{generated}", "name": f"d{act}"})
        yield (events.GEN, act, "result", generated, t + STEP_NS // 2)
        yield (events.END, act, t + STEP_NS // 2, "completed", None)
        if act % 10 == 1:
            parent = act
    yield (events.EXIT, t + STEP_NS, "completed", 0, {"duration": activities * 1e-3, "cpu_time": 1.0, "peak_rss": 1 << 28})


def write_run(run_dir: Path, activities: int, batch: int = 5000) -> Path:
    """Write the synthetic log into ``run_dir`` (created) with autoprov's own log writer."""
    run_dir.mkdir(parents=True, exist_ok=True)
    buffer: list[tuple] = []
    log = EventLog(run_dir, buffer)  # not started: flushed here, in batches as the thread would
    for event in synthetic_events(activities, run_dir.name):
        buffer.append(event)
        if len(buffer) >= batch:
            log.flush()
    log.close()
    return run_dir


if __name__ == "__main__":
    import sys

    folder = write_run(Path(sys.argv[1]), int(sys.argv[2]))
    print(json.dumps({"run_dir": str(folder), "bytes": os.path.getsize(RunFolder(folder).events)}))
