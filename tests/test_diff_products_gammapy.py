"""``autoprov diff`` pairs the outputs of two runs by the call and role that wrote them.

The demo (``examples/crab_1d.py``) run twice into different folders shares no output path: every
product must still be paired with its counterpart ("same product, other path"), all eight of them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, environment

pytestmark = [pytest.mark.slow, pytest.mark.gammapy]


def autoprov(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autoprov", *args], cwd=cwd, capture_output=True, text=True,
                          env=environment(), timeout=600)


def test_two_demo_runs_into_other_folders_pair_all_eight_products(tmp_path: Path) -> None:
    for outdir in ("first", "second"):
        done = autoprov(tmp_path, "--store", ".prov", "--export", "sync", "--format", "json", "--graph", "none", "--quiet",
                        str(REPO / "examples" / "crab_1d.py"), "--outdir", outdir)
        assert done.returncode == 0, done.stderr
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
