"""Capture in code, like a profiler: a with block, start()/stop(), a decorator; each gives a record."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import prov

from conftest import environment

SESSION = '''
import autoprov
from toy.core import outer, leaf
from toy.io import write_text

outer(1)  # before capture: not recorded
with autoprov.capture(filters=["none"], match=["toy.*:*"], store="store") as run:
    outer(2)
    write_text("inside.txt", "x")
print("with", run.run_dir.name)

autoprov.start(filters=["none"], match=["toy.*:*"], store="store", quiet=True)
leaf(3)
print("start-stop", autoprov.stop().name)

@autoprov.capture(filters=["none"], match=["toy.core:leaf"], store="store", quiet=True)
def analysis(n):
    return sum(leaf(i) for i in range(n))

print("decorated", analysis(4), analysis(2))
'''


def test_sessions_in_code(tmp_path: Path) -> None:
    (tmp_path / "session.py").write_text(SESSION)
    done = subprocess.run([sys.executable, "session.py"], cwd=tmp_path, capture_output=True, text=True, env=environment())
    assert done.returncode == 0, done.stderr
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines())
    assert lines["decorated"] == "12 2"
    runs = sorted(p for p in (tmp_path / "store").iterdir() if p.is_dir())  # beside them: index.sqlite
    assert len(runs) == 4  # one per with block, start/stop, and decorated call
    first = prov.read(tmp_path / "store" / lines["with"] / "provenance.json", format="json")
    labels = sorted(str(a.label) for a in first.get_records(prov.model.ProvActivity) if "toy" in str(a.label))
    assert labels == ["toy.core.leaf", "toy.core.leaf", "toy.core.outer", "toy.io.write_text"]
    for run in runs:
        for name in ("provenance.json", "provenance.provn", "environment.json", "graph.dot"):
            assert (run / name).exists(), (run, name)
    summary = [line for line in done.stderr.splitlines() if line.startswith("autoprov: ")]
    assert len(summary) == 1 and lines["with"] in summary[0]  # quiet=True for the others
