"""``autoprov lineage`` names the processing steps of a product from a high-level ``Analysis`` run.

``tests/scripts/gammapy/analysis_1d_crab.py`` (gammapy's documentation style: an ``AnalysisConfig``
for a 1D analysis of two Crab runs, reflected background, safe mask from the effective area) writes
flux points.  Their lineage must name the estimator and its energy edges, the fit and its
statistic and backend, the makers and the safe-mask settings: the key parameters that the shipped
filter marks ``key: true``, in text, in JSON, and in the graph.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, environment

pytestmark = [pytest.mark.slow, pytest.mark.gammapy]
SCRIPT = REPO / "tests" / "scripts" / "gammapy" / "analysis_1d_crab.py"


def autoprov(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autoprov", *args], cwd=cwd, capture_output=True, text=True,
                          env=environment(), timeout=600)


@pytest.fixture(scope="module")
def analysis(tmp_path_factory) -> Path:
    cwd = tmp_path_factory.mktemp("hli")
    done = autoprov(cwd, "--store", ".prov", "--export", "sync", "--format", "json", "--graph", "none", "--quiet", str(SCRIPT), "out")
    assert done.returncode == 0, done.stderr
    return cwd


def lineage(cwd: Path, *args: str) -> str:
    done = autoprov(cwd, "lineage", "--store", ".prov", "out/flux_points.fits", *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_text_names_estimator_fit_and_makers_with_their_key_parameters(analysis: Path) -> None:
    text = lineage(analysis)
    steps = text[text.index("steps:"):text.index("├─ ")]
    assert "FluxPointsEstimator.run  energy_edges=[1, 3.162, 10] TeV  source=crab" in steps
    assert "Fit.run  backend=minuit  datasets.stat_type=[\"wstat\",\"wstat\"]" in steps
    assert "SpectrumDatasetMaker.run x2  containment_correction=True  selection=[\"counts\",\"edisp\",\"exposure\"]" in steps
    assert "SafeMaskMaker.run x2  aeff_percent=10  bias_percent=10  methods=[\"aeff-max\"]" in steps
    assert "ReflectedRegionsBackgroundMaker.run x2\n" in steps
    # the high-level calls enclose them, in call order, with their configuration sections
    order = [steps.index(name) for name in ("Analysis.get_observations", "Analysis.get_datasets", "SpectrumDatasetMaker.run",
                                            "Analysis.run_fit", "Fit.run", "Analysis.get_flux_points", "FluxPointsEstimator.run")]
    assert order == sorted(order)
    assert "Analysis.run_fit  fit={\"fit_range\":{\"max\":\"10.0 TeV\",\"min\":\"1.0 TeV\"}}" in steps
    # condensed: a parameter that is not key (n_sigma) is only in --full, where each call has its own line
    assert "n_sigma=" not in steps
    full = lineage(analysis, "--full")
    assert "n_sigma=1" in full and full.count("SafeMaskMaker.run  ") == 2 and "SafeMaskMaker.run x2" not in full


def test_json_carries_the_steps(analysis: Path) -> None:
    tree = json.loads(lineage(analysis, "--format", "json"))
    generation = tree["root"]["generation"]
    flat: dict[str, dict] = {}

    def walk(steps: list[dict]) -> None:
        for step in steps:
            flat[step["name"].rsplit(".", 2)[-2] + "." + step["name"].rsplit(".", 1)[-1]] = step
            walk(step["steps"])

    walk(generation["steps"])
    estimator = flat["FluxPointsEstimator.run"]
    assert json.loads(estimator["parameters"]["energy_edges"])["values"][0] == 1.0
    assert estimator["count"] == 1 and len(estimator["activities"]) == 1
    assert flat["Fit.run"]["parameters"]["backend"] == "minuit"
    assert json.loads(flat["Fit.run"]["parameters"]["datasets.stat_type"]) == ["wstat", "wstat"]
    maker = flat["SafeMaskMaker.run"]
    assert maker["count"] == 2 and maker["parameters"]["aeff_percent"] == "10" and len(maker["activities"]) == 2
    assert flat["SpectrumDatasetMaker.run"]["parameters"]["containment_correction"] == "True"


def test_the_graph_draws_the_steps(analysis: Path) -> None:
    done = autoprov(analysis, "lineage", "--store", ".prov", "out/flux_points.fits", "--graph", "chain.dot")
    assert done.returncode == 0, done.stderr
    dot = (analysis / "chain.dot").read_text()
    assert "_steps [shape=box" in dot
    assert "SafeMaskMaker.run x2" in dot and "FluxPointsEstimator.run" in dot and "Fit.run  backend=minuit" in dot


def test_the_report_shows_the_steps_of_a_product(analysis: Path, tmp_path: Path) -> None:
    from browser import open_report

    (run_dir,) = [p for p in (analysis / ".prov").iterdir() if (p / "events.jsonl").exists()]
    done = autoprov(analysis, "report", "--store", ".prov", run_dir.name, "-o", str(tmp_path / "report.html"))
    assert done.returncode == 0, done.stderr
    with open_report(tmp_path / "report.html", tmp_path / "profile") as page:
        page.page.locator("table.files a", has_text="flux_points.fits").click()
        panel = page.page.locator("#panel-body")
        steps = panel.locator("ul.steps").first.inner_text()
        assert "processing steps" in panel.inner_text().lower()
        assert "SafeMaskMaker.run \u00d72" in steps and "aeff_percent" in steps and '["aeff-max"]' in steps
        assert "Fit.run" in steps and "minuit" in steps and "stat_type" in steps
        assert "FluxPointsEstimator.run" in steps and "energy_edges [1, 3.162, 10] TeV" in steps
        assert steps.index("Analysis.get_datasets") < steps.index("SpectrumDatasetMaker.run") < steps.index("Analysis.run_fit")
