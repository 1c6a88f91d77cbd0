"""A synthetic run log in the recorder's event format, shaped like a per-observation gammapy loop.

Each observation is four activities: read an event list (a file), make a dataset (with a nested
call), write the dataset (a file).  ``observations=500`` gives the 2,000-activity run the report
must stay usable for.
"""

from __future__ import annotations

import time
from pathlib import Path

from autoprov.log.writer import encode

RUN_ID = "20260101T000000000000-1-beef"


def write_synthetic_run(store: Path, observations: int) -> Path:
    run_dir = store / RUN_ID
    run_dir.mkdir(parents=True)
    t = time.time_ns()
    info = {"argv": ["pipeline.py"], "program": "pipeline.py", "program_args": [], "module": False, "cwd": "/data",
            "engine": "monitoring", "filters": ["gammapy"], "hash_algorithm": "xxh3_128", "autoprov_version": "0.1.0"}
    events: list = [("run", RUN_ID, t, info)]
    act = obj = 0
    clock = t + 1000
    for i in range(observations):
        source, product = f"/data/obs/run_{i:05d}.fits", f"/data/out/dataset_{i:05d}.fits"
        reader, maker, inner, writer = act + 1, act + 2, act + 3, act + 4
        act += 4
        events += [
            ("act", reader, None, "pkg.io.EventList.read", "pkg:1", clock, "MainThread", {"filename": source, "hdu": "EVENTS"}),
            ("file", reader, "read", source, clock + 10, 0),
            ("digest", source, 0, "xxh3_128", f"{i:032x}", 1000 + i, clock),
            ("obj", obj + 1, {"type": "pkg.EventList", "repr": f"<EventList {i}>"}),
            ("gen", reader, "events", obj + 1, clock + 20),
            ("end", reader, clock + 50_000, "completed", None),
            ("act", maker, None, "pkg.makers.Maker.run", "pkg:2", clock + 60_000, "MainThread", {"index": i, "scale": 1.5, "mode": "fast"}),
            ("use", maker, "events", obj + 1, clock + 60_000),
            ("act", inner, maker, "pkg.makers.Maker.fill", "pkg:3", clock + 70_000, "MainThread", {"bins": 40}),
            ("end", inner, clock + 150_000, "completed", None),
            ("obj", obj + 2, {"type": "pkg.Dataset", "repr": f"<Dataset {i}>", "name": f"ds{i}"}),
            ("gen", maker, "dataset", obj + 2, clock + 200_000),
            ("end", maker, clock + 200_000, "completed", None),
            ("act", writer, None, "pkg.Dataset.write", "pkg:4", clock + 210_000, "MainThread", {"filename": product, "overwrite": True}),
            ("use", writer, "dataset", obj + 2, clock + 210_000),
            ("file", writer, "write", product, clock + 220_000, 1),
            ("digest", product, 1, "xxh3_128", f"{i + 10**6:032x}", 5000 + i, clock + 300_000),
            ("end", writer, clock + 300_000, "completed", None),
        ]
        obj += 2
        clock += 400_000
    events.append(("exit", clock, "completed", 0, {"duration": (clock - t) / 1e9, "cpu_time": 1.0, "peak_rss": 10**8}))
    with open(run_dir / "events.jsonl", "w", encoding="utf-8") as handle:
        for start in range(0, len(events), 5000):
            handle.write(encode(events[start:start + 5000]) + "\n")
    return run_dir
