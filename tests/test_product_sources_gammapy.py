"""Every product of a realistic gammapy script reaches exactly the DL3 runs and IRF files it came from.

The scripts in ``tests/scripts/gammapy/`` are written the way gammapy's tutorials teach (the
high-level ``Analysis``, makers in a loop with in-place stacking, per-run spectra written in a
loop, light curves, simulations from IRF files).  Each runs under autoprov with the shipped
gammapy filter; its PROV-JSON is read back with ``prov.read`` and walked backwards
(:mod:`lineage`) from every file the script wrote.  The set of DL3 observation files and IRF files
reached must equal, per product, the inputs that product was computed from.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import prov
import pytest

from conftest import GAMMAPY_DATA, SCRIPTS, environment
from lineage import Lineage

pytestmark = [pytest.mark.slow, pytest.mark.gammapy]

RUNS = (23523, 23526, 23559, 23592)
DL3 = GAMMAPY_DATA / "hess-dl3-dr1" / "data"
CALDB = GAMMAPY_DATA / "cta-caldb"
SOUTH = CALDB / "Prod5-South-20deg-AverageAz-14MSTs37SSTs.180000s-v0.1.fits.gz"
NORTH = CALDB / "Prod5-North-20deg-AverageAz-4LSTs09MSTs.180000s-v0.1.fits.gz"


def runs(*obs_ids: int) -> set[str]:
    return {str(DL3 / f"hess_dl3_dr1_obs_id_{obs_id:06d}.fits.gz") for obs_id in obs_ids}


def is_source(location: str) -> bool:
    return location.startswith((str(DL3) + "/", str(CALDB) + "/"))


def obs_ids_in(path: Path) -> tuple[int, ...]:
    """The runs a gammapy dataset file says it holds (its META_TABLE), read independently of autoprov."""
    from astropy.io import fits

    with fits.open(path) as hdus:
        return tuple(int(obs_id) for obs_id in hdus["META_TABLE"].data["OBS_ID"])


class Record:
    """The activities of a PROV document with what each used and generated, by role."""

    def __init__(self, doc: prov.model.ProvDocument) -> None:
        doc = doc.unified()
        self.location = {str(e.identifier): str(next(iter(e.get_attribute("prov:location")))) for e in doc.get_records(prov.model.ProvEntity)
                         if e.get_attribute("prov:location")}
        self.activities = {str(a.identifier): a for a in doc.get_records(prov.model.ProvActivity)}
        self.links: list[tuple[str, str, str, str]] = []  # (direction, activity, role, entity)
        for kind, direction in ((prov.model.ProvUsage, "used"), (prov.model.ProvGeneration, "generated")):
            for relation in doc.get_records(kind):
                role = next(iter(relation.get_attribute("prov:role")), "")
                self.links.append((direction, str(next(iter(relation.get_attribute("prov:activity")))), str(role),
                                   str(next(iter(relation.get_attribute("prov:entity"))))))

    def named(self, suffix: str) -> list[str]:
        return [a for a, record in self.activities.items() if str(next(iter(record.get_attribute("prov:label")))).endswith(suffix)]

    def param(self, activity: str, name: str) -> str:
        return str(next(iter(self.activities[activity].get_attribute(f"param:{name}"))))

    def files(self, direction: str, suffix: str, role: str) -> set[str]:
        """Locations of the files the activities named ``*suffix`` used or generated with ``role``."""
        acts = set(self.named(suffix))
        return {self.location[e] for d, a, r, e in self.links if d == direction and a in acts and r == role and e in self.location}


def record(tmp_path: Path, script: str) -> tuple[Lineage, Path, Record]:
    out = tmp_path / "out"
    command = [sys.executable, "-m", "autoprov", "--store", str(tmp_path / ".prov"), "--format", "json", "--graph", "none",
               str(SCRIPTS / "gammapy" / script), str(out)]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, env=environment(), timeout=900)
    assert done.returncode == 0, done.stderr[-4000:]
    (run_dir,) = [p for p in (tmp_path / ".prov").iterdir() if (p / "events.jsonl").exists()]
    doc = prov.read(run_dir / "provenance.json", format="json")
    return Lineage(doc), out, Record(doc)


def check(lineage: Lineage, out: Path, expected: dict[str, set[str]]) -> None:
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert written == sorted(expected), "the script wrote other files than the test expects"
    wrong = {}
    for name, sources in expected.items():
        found = lineage.sources(out / name, is_source)
        if found != sources:
            wrong[name] = {"missing": sorted(sources - (found or set())), "extra": sorted((found or set()) - sources),
                           "in record": found is not None}
    assert not wrong, wrong


def test_analysis_stacked_and_joint(tmp_path: Path) -> None:
    lineage, out, activities = record(tmp_path, "analysis_stacked_joint.py")
    config = str(out / "config.yaml")
    assert activities.files("generated", "AnalysisConfig.write", "config_file") == {config}  # its role, not 'write'
    assert activities.files("used", "AnalysisConfig.read", "config_file") == {config}
    expected = {"config.yaml": set()}
    for name in ("stacked", "joint"):
        for product in ("datasets.yaml", "models.yaml", "models_covariance.dat", "flux_points.fits"):
            expected[f"{name}/{product}"] = runs(*RUNS)
    for spectrum in (out / "joint").glob("pha_obs*.fits"):  # one file per run, named at random
        expected[f"joint/{spectrum.name}"] = runs(*obs_ids_in(spectrum))
    expected["stacked/pha_obsstacked.fits"] = runs(*RUNS)
    assert len(expected) == 14
    check(lineage, out, expected)


def test_makers_loop_stacked_in_place(tmp_path: Path) -> None:
    lineage, out, activities = record(tmp_path, "makers_stack.py")
    assert len(activities.named("MapDataset.stack")) == 4 + 2  # the loop, and inside DatasetsMaker.run
    every = runs(*RUNS)
    check(lineage, out, {
        "stacked.fits.gz": every, "stacked_models.yaml": every, "stacked_models_covariance.dat": every,
        "flux_points.fits": every, "two_runs.fits.gz": runs(23523, 23526),
    })


def test_reflected_regions_spectra_per_run(tmp_path: Path) -> None:
    lineage, out, activities = record(tmp_path, "reflected_1d.py")
    store = GAMMAPY_DATA / "hess-dl3-dr1"
    assert activities.files("used", "DataStore.from_dir", "data_store_index") == {str(store / "obs-index.fits.gz"), str(store / "hdu-index.fits.gz")}
    assert not [location for location in activities.location.values() if "$GAMMAPY_DATA" in location]
    assert activities.files("generated", "DatasetModels.write", "models_file") == {str(out / "joint_models.yaml"), str(out / "flux_points_models.yaml")}
    statistics = sorted(activities.param(fit, "datasets.stat_type") for fit in activities.named("Fit.run"))
    assert statistics == ['["chi2"]', '["wstat","wstat","wstat","wstat"]']  # the two fits are told apart
    (built,) = activities.named("FluxPointsDataset.__init__")
    (estimated,) = activities.named("FluxPointsEstimator.run")
    flux_points = {e for d, a, r, e in activities.links if d == "generated" and a == estimated}
    assert {e for d, a, r, e in activities.links if d == "used" and a == built and r == "flux_points"} == flux_points
    every = runs(*RUNS)
    expected = {f"obs_{obs_id}.fits": runs(obs_id) for obs_id in RUNS}
    for name in ("joint_models.yaml", "joint_models_covariance.dat", "stacked.fits", "flux_points.fits",
                 "flux_points_models.yaml", "flux_points_models_covariance.dat"):
        expected[name] = every
    check(lineage, out, expected)


def test_light_curve(tmp_path: Path) -> None:
    lineage, out, _ = record(tmp_path, "light_curve.py")
    check(lineage, out, {"light_curve.fits": runs(*RUNS), "light_curve_first_two.fits": runs(23523, 23526)})


def test_simulation_from_irf_files(tmp_path: Path) -> None:
    lineage, out, activities = record(tmp_path, "simulate_irfs.py")
    assert activities.files("used", "load_irf_dict_from_file", "irf_file") == {str(SOUTH), str(NORTH)}
    check(lineage, out, {
        "simulated_south.fits.gz": {str(SOUTH)}, "simulated_north.fits.gz": {str(NORTH)},
        "fitted_south.yaml": {str(SOUTH)}, "fitted_south_covariance.dat": {str(SOUTH)},
    })
