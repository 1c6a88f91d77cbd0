"""``autoprov diff`` pairs the outputs of two runs by the call and role that wrote them.

The demo (``examples/crab_1d.py``) run twice into different folders shares no output path: every
product must still be paired with its counterpart ("same product, other path"), all eight of them.
The first run starts with an empty matplotlib configuration folder, as a first run does: matplotlib
builds its font cache with ``fc-list``, which the record keeps and the graph and report leave out.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, environment

pytestmark = [pytest.mark.slow, pytest.mark.gammapy]


def autoprov(cwd: Path, *args: str, extra: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autoprov", *args], cwd=cwd, capture_output=True, text=True,
                          env=environment(extra), timeout=600)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, str]:
    """Two demo runs into ``first`` and ``second``; the stderr of the first (its summary line)."""
    cwd = tmp_path_factory.mktemp("demo")
    fresh = {"MPLCONFIGDIR": str(cwd / "matplotlib")}  # no font cache yet: matplotlib runs fc-list
    first = autoprov(cwd, "--store", ".prov", "--export", "sync", "--format", "json,html",
                     str(REPO / "examples" / "crab_1d.py"), "--outdir", "first", extra=fresh)
    assert first.returncode == 0, first.stderr
    second = autoprov(cwd, "--store", ".prov", "--export", "sync", "--format", "json", "--graph", "none", "--quiet",
                      str(REPO / "examples" / "crab_1d.py"), "--outdir", "second")
    assert second.returncode == 0, second.stderr
    return cwd, first.stderr


def test_the_font_cache_commands_are_recorded_but_not_drawn(demo: tuple[Path, str]) -> None:
    cwd, stderr = demo
    run_dir = sorted(p for p in (cwd / ".prov").iterdir() if (p / "events.jsonl").exists())[0]
    recorded = [line for line in (run_dir / "events.jsonl").read_text().splitlines() if '"fc-list"' in line]
    assert recorded and all('"internal":"matplotlib"' in line for line in recorded)  # kept in the record, marked
    assert "fc-list" in (run_dir / "provenance.json").read_text()
    assert "fc-list" not in (run_dir / "graph.dot").read_text() and "fc-list" not in (run_dir / "report.html").read_text()
    assert re.search(r"\(\+\d+ library-internal(, \+\d+ property reads?)?, not drawn: autoprov graph --all\)", stderr.splitlines()[-1])
    done = autoprov(cwd, "graph", "--store", ".prov", run_dir.name, "--all", "-o", "all.dot")
    assert done.returncode == 0, done.stderr
    assert "fc-list" in (cwd / "all.dot").read_text()


def test_two_demo_runs_into_other_folders_pair_all_eight_products(demo: tuple[Path, str]) -> None:
    tmp_path, _ = demo
    result = json.loads(autoprov(tmp_path, "diff", "--store", ".prov", "--format", "json", "-2", "latest").stdout)
    outputs = result["outputs"]
    assert outputs["only_a"] == [] and outputs["only_b"] == [] and outputs["same"] == 0
    pairs = [(change["a"], change["b"]) for change in outputs["moved"]] + [(pair["a"], pair["b"]) for pair in outputs["products"]]
    assert len(pairs) == 8
    for a, b in pairs:
        assert Path(a).parent.name == "first" and Path(b).parent.name == "second" and Path(a).name == Path(b).name
    producers = {Path(pair["a"]).name: pair["producer"] for pair in outputs["products"]}
    assert producers.get("flux_points.fits", "FluxPoints.write #1 file") == "FluxPoints.write #1 file"
    assert {producers.get(f"pha_obs{obs}.fits") for obs in (23523, 23526, 23559, 23592)} <= {
        *(f"SpectrumDatasetOnOff.write #{n} file" for n in range(1, 5)), None}
    text = autoprov(tmp_path, "diff", "--store", ".prov", "-2", "latest").stdout
    assert f"{len(outputs['products'])} same product at another path, 0 only in A, 0 only in B" in text
