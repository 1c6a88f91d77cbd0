"""A real gammapy analysis of the four H.E.S.S. Crab runs under every engine.

Each engine must leave the analysis untouched (same printed fit results, same output files) and
record the same activities and files: the DataStore, the three makers per run, the fit, the flux
points, the writes, and the DL3 files, exclusion mask and outputs seen by the audit hook.
"""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest
import xxhash

from conftest import GAMMAPY_DATA, REPO, run_autoprov, run_plain

pytestmark = [pytest.mark.slow, pytest.mark.gammapy]
CRAB = REPO / "examples" / "crab_1d.py"
# the four Crab observations examples/crab_1d.py reads (the data folder holds all 105 DR1 runs)
DL3 = [GAMMAPY_DATA / "hess-dl3-dr1" / "data" / f"hess_dl3_dr1_obs_id_{obs_id:06d}.fits.gz" for obs_id in (23523, 23526, 23559, 23592)]
MASK = GAMMAPY_DATA / "joint-crab" / "exclusion" / "exclusion_mask_crab.fits.gz"
EXPECTED = Counter({
    "gammapy.data.data_store.DataStore.from_dir": 1,
    "gammapy.data.data_store.DataStore.get_observations": 1,
    "gammapy.makers.spectrum.SpectrumDatasetMaker.run": 4,
    "gammapy.makers.background.reflected.ReflectedRegionsBackgroundMaker.run": 4,
    "gammapy.makers.safe.SafeMaskMaker.run": 4,
    "gammapy.modeling.fit.Fit.run": 1,
    "gammapy.estimators.points.sed.FluxPointsEstimator.run": 1,
    "gammapy.datasets.core.Datasets.write": 1,
    "gammapy.estimators.points.core.FluxPoints.write": 1,
})
OUTPUTS = ["datasets.yaml", "models.yaml", "flux_points.fits"] + [f"pha_obs{n}.fits" for n in (23523, 23526, 23559, 23592)]


def without_dates(path: Path) -> list[str]:
    """The fitted model file minus gammapy's creation-date metadata line."""
    return [line for line in path.read_text().splitlines() if "date:" not in line]


@pytest.fixture(scope="module")
def plain_run(tmp_path_factory: pytest.TempPathFactory):
    workdir = tmp_path_factory.mktemp("plain")
    result = run_plain([str(CRAB), "--outdir", "out"], workdir)
    assert result.returncode == 0, result.stderr
    return result, workdir


def test_crab_analysis_is_recorded_by_every_engine(plain_run, tmp_path: Path, engine: str) -> None:
    plain, plain_dir = plain_run
    result = run_autoprov([str(CRAB), "--outdir", "out"], tmp_path, engine=engine)
    assert result.returncode == 0, result.stderr
    assert result.stdout == plain.stdout  # the same fit results, printed the same way
    for name in OUTPUTS:
        assert (tmp_path / "out" / name).exists()
    assert without_dates(tmp_path / "out" / "models.yaml") == without_dates(plain_dir / "out" / "models.yaml")

    acts = result.activities()
    counts = Counter(a["name"] for a in acts.values())
    for name, count in EXPECTED.items():
        assert counts[name] == count, (name, counts)
    assert all(a["status"] == "completed" for a in acts.values())
    by_name = {a["name"]: i for i, a in acts.items()}
    fit = by_name["gammapy.modeling.fit.Fit.run"]
    assert {acts[i]["name"] for i, a in acts.items() if a["parent"] == fit} >= {"gammapy.modeling.fit.Fit.optimize"}

    reads = {e[3] for e in result.of_kind("file") if e[2] == "read"}
    assert {str(p) for p in DL3} <= reads and str(MASK) in reads
    digests = {(e[1], e[2]): e[4] for e in result.of_kind("digest")}
    for path in DL3 + [MASK]:
        assert digests[(str(path), 0)] == xxhash.xxh3_128_hexdigest(path.read_bytes())
    writes = {e[3]: e[1] for e in result.of_kind("file") if e[2] == "write"}
    for name in OUTPUTS:
        path = tmp_path / "out" / name
        assert str(path) in writes
        final = max(v for (p, v) in digests if p == str(path))
        assert digests[(str(path), final)] == xxhash.xxh3_128_hexdigest(path.read_bytes())
    # each DL3 file is read inside the SpectrumDatasetMaker.run activity of its own run
    maker_reads = Counter(
        acts[e[1]]["name"] for e in result.of_kind("file") if e[1] is not None and e[3] in {str(p) for p in DL3}
    )
    assert maker_reads["gammapy.makers.spectrum.SpectrumDatasetMaker.run"] == 4
    shutil.rmtree(tmp_path / "out")
