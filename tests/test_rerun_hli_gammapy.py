"""``autoprov rerun`` of a high-level ``Analysis`` run (issue 20, part 5): every output "same".

The script (``tests/scripts/gammapy/analysis_1d_two_runs.py``, gammapy's "Analysis 1" style on two
Crab runs) writes its datasets index, a YAML file, under a name ending in ``.fits.gz``, and every
YAML output carries gammapy's ``metadata.date`` and a ``checksum`` computed over it: the comparator
must find the format from the content and ignore only those stamps, and say so.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SCRIPTS, environment

pytestmark = pytest.mark.slow
SCRIPT = SCRIPTS / "gammapy" / "analysis_1d_two_runs.py"


def autoprov(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autoprov", *args], cwd=cwd, capture_output=True, text=True,
                          env=environment(), timeout=900)


def test_rerun_of_a_high_level_analysis_says_same_for_every_output(tmp_path):
    done = autoprov(tmp_path, "--store", ".prov", "--export", "sync", "--format", "json", "--graph", "none", str(SCRIPT), "out")
    assert done.returncode == 0, done.stderr[-3000:]
    done = autoprov(tmp_path, "rerun", "--store", ".prov", "--into", str(tmp_path / "again"))
    print(done.stdout)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    rows = {line.split()[0]: line.split(None, 2)[1:] for line in done.stdout.splitlines()[1:]}
    assert set(rows) == {"out/config.yaml", "out/crab-models.yaml", "out/crab-models_covariance.dat",
                         "out/crab-stacked-datasets.fits.gz", "out/flux_points.fits", "out/pha_obsstacked.fits"}
    assert all(result == "same" for result, _ in rows.values()), rows
    # YAML found by its content, the stamps named (the files' dates differ: written seconds apart)
    index = rows["out/crab-stacked-datasets.fits.gz"][1]
    assert index.startswith("YAML: equal after parsing, apart from checksum (MD5 over the text, date included)"), index
    assert "metadata.date" in index and "metadata.date" in rows["out/crab-models.yaml"][1]
    assert "all 6 outputs reproduced" in done.stderr
