"""Export of a 100,000-activity / 200,000-entity run: complete PROV-JSON, graph collapsed.

Its speed and memory targets (<= 10 s, <= 1 GB) are measured by the benchmarks (``make bench``,
the export group), not asserted here: a shared test machine's timing is not the exporter's.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autoprov.log.writer import encode

EXPORT = """
import sys
from pathlib import Path
from autoprov.session.postrun import ExportStep
step = ExportStep(("json",), ())
step(Path(sys.argv[1]))
print(step.written.records)
"""


def write_run(run_dir: Path, activities: int) -> None:
    """A synthetic log in the recorder's format: each call uses one object and returns another."""
    run_dir.mkdir(parents=True)
    t = time.time_ns()
    batch: list = [("run", "20260101T000000000000-1-big", t, {"argv": ["big.py"], "program": "big.py", "autoprov_version": "0.1.0"})]
    with open(run_dir / "events.jsonl", "w", encoding="utf-8") as out:
        for i in range(1, activities + 1):
            name = "pkg.mod.Step.run" if i % 2 else "pkg.mod.make"
            batch += [
                ("act", i, None, name, "pkg.*", t + i * 1000, "MainThread", {"index": i, "scale": 1.5, "mode": "fast"}),
                ("obj", 2 * i - 1, {"type": "pkg.Thing", "repr": "<pkg.Thing>"}),
                ("use", i, "input", 2 * i - 1, t + i * 1000),
                ("obj", 2 * i, {"type": "pkg.Result", "repr": "<pkg.Result>"}),
                ("gen", i, "result", 2 * i, t + i * 1000 + 500),
                ("end", i, t + i * 1000 + 500, "completed", None),
            ]
            if len(batch) > 5000:
                out.write(encode(batch) + "\n")
                batch = []
        batch.append(("exit", t + (activities + 1) * 1000, "completed", 0, {"duration": 1.0}))
        out.write(encode(batch) + "\n")


@pytest.mark.slow
def test_export_of_100k_activities_is_complete(tmp_path):
    run_dir = tmp_path / "run"
    write_run(run_dir, 100_000)
    done = subprocess.run([sys.executable, "-c", EXPORT, str(run_dir)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) >= 700_000
    document = json.loads((run_dir / "provenance.json").read_text())
    assert len(document["activity"]) == 100_001 and len(document["entity"]) >= 200_000
    dot = (run_dir / "graph.dot").read_text()
    assert "50000 x (Step.run -> mod.make)" in dot and dot.count("->") < 50  # one loop: export/grouping.py


def test_streamed_json_matches_prov_model_on_a_generated_run(tmp_path):
    import prov

    from autoprov.export import model
    from autoprov.export.renderers import provdoc, provjson

    run_dir = tmp_path / "run"
    write_run(run_dir, 200)
    run = model.load(run_dir)
    provjson.write(run, run_dir / "provenance.json")
    assert prov.read(run_dir / "provenance.json", format="json") == provdoc.document(run)
