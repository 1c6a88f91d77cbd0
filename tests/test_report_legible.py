"""The report's graph is legible at "fit" whatever the size of the run (issue 20, part 4).

A real gammapy simulation loop (100 fake-and-fit passes, ~500 activities), the demo's real
analysis (``examples/crab_1d.py``: four H.E.S.S. runs reduced, fitted and written, a chain of
Python objects handed from step to step, drawn in the products view as edges) and a tiny run are
recorded and their reports opened in Chromium at 1280x800.  At "fit", in the view the report
opens with (the products and their lineage), every node label is at least 9 CSS pixels high and
every product is on screen, and so in the call tree, which draws the loop as one ``100 x (...)``
node that a click expands and a second click folds.  A screenshot of the loop's call tree goes to tests/artifacts/.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from browser import ARTIFACTS, open_report
from conftest import REPO, SCRIPTS, environment

LEGIBLE_PX = 9.0
LOOP = "100 x (MapDataset.models -> MapDataset.fake -> Fit.run)"
MEASURE = """() => {
  const view = document.getElementById("graph-view").getBoundingClientRect();
  const layer = document.querySelector("#graph-view .graph-layer:not([hidden])");
  const texts = [...layer.querySelectorAll("g.node text")].map(t => {
    const r = t.getBoundingClientRect();
    return {text: t.textContent, node: t.closest("g.node").querySelector("title").textContent,
            height: r.height, left: r.left, right: r.right, top: r.top, bottom: r.bottom};
  });
  return {view: {left: view.left, right: view.right, top: view.top, bottom: view.bottom}, texts: texts,
          shown: document.getElementById("graph-view").getAttribute("data-shown")};
}"""


def record(script: Path, args: list[str], cwd: Path, *options: str) -> Path:
    cwd.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([sys.executable, "-m", "autoprov", "--export", "sync", *options, str(script), *args],
                          cwd=cwd, capture_output=True, text=True, env=environment(), timeout=600)
    assert done.returncode == 0, done.stderr
    (run_dir,) = [p for p in (cwd / ".prov").iterdir() if (p / "events.jsonl").exists()]
    return run_dir / "report.html"


def report_data(report: Path) -> dict:
    text = report.read_text(encoding="utf-8")
    return json.loads(re.search(r'<script type="application/json" id="report-data">(.*?)</script>', text, re.S).group(1))


def products(report: Path) -> list[str]:
    data = report_data(report)
    return [data["ents"][i]["label"] for i in data["outputs"]]


def product_nodes(report: Path, layer: str) -> dict[str, str]:
    """Each product's name -> the node that draws it in ``layer`` (files written by a loop share one)."""
    data = report_data(report)
    drawn = {i: node for node, entry in data["nodes"].items() if entry["layer"] == layer and entry["kind"] == "entity" for i in entry["items"]}
    return {data["ents"][i]["label"]: drawn.get(i) for i in data["outputs"]}


def assert_legible_at_fit(page, names: list[str]) -> dict:
    page.click("button[data-zoom=fit]")
    seen = page.evaluate(MEASURE)
    small = [(t["text"], round(t["height"], 1)) for t in seen["texts"] if t["text"].strip() and t["height"] < LEGIBLE_PX]
    assert not small, f"labels under {LEGIBLE_PX} px at fit in layer {seen['shown']}: {small[:5]}"
    view = seen["view"]
    for name in names:
        boxes = [t for t in seen["texts"] if t["text"] == name]
        assert boxes, f"product {name} is not drawn in layer {seen['shown']}"
        assert all(view["left"] <= b["left"] and b["right"] <= view["right"] and view["top"] <= b["top"] and b["bottom"] <= view["bottom"] for b in boxes), name
    return seen


@pytest.mark.slow
def test_simulation_loop_report_is_legible_and_the_loop_expands(tmp_path):
    report = record(SCRIPTS / "gammapy" / "spectrum_simulation_loop.py", ["out", "100"], tmp_path / "loop")
    names = products(report)
    assert names == ["fit_results.ecsv"]
    with open_report(report, tmp_path / "profile", width=1280, height=800) as page:
        p = page.page
        p.locator("#graph").scroll_into_view_if_needed()
        assert assert_legible_at_fit(p, names)["shown"] == "p"  # the report opens with the products
        p.click("button[data-view=calls]")
        seen = assert_legible_at_fit(p, names)  # the call tree too
        assert seen["shown"] == "c" and LOOP in [t["text"] for t in seen["texts"]]  # the loop is one node
        ARTIFACTS.mkdir(exist_ok=True)
        p.locator("#graph").screenshot(path=str(ARTIFACTS / "report_simulation_loop.png"))
        p.locator("#graph-view .graph-layer:not([hidden]) g.node", has_text=LOOP).click(force=True)  # expand
        seen = p.evaluate(MEASURE)
        assert seen["shown"] != "c" and "MapDataset.fake x 100" in [t["text"] for t in seen["texts"]]
        assert p.locator("#panel-body h2").inner_text() == LOOP
        p.locator("#graph-view .graph-layer:not([hidden]) g.node", has_text=LOOP).click(force=True)  # fold
        assert p.evaluate(MEASURE)["shown"] == "c"


def test_small_run_report_is_legible(tmp_path):
    (tmp_path / "small").mkdir()
    (tmp_path / "small" / "values.txt").write_text("1 2 3")
    report = record(SCRIPTS / "four_steps.py", ["values.txt", "summary.json"], tmp_path / "small", "--filter", "none", "--match", "__main__:*")
    names = products(report)
    assert names == ["summary.json"] and report.read_text(encoding="utf-8").count('"parent":') == 4  # four activities
    with open_report(report, tmp_path / "profile", width=1280, height=800) as page:
        page.page.locator("#graph").scroll_into_view_if_needed()
        assert_legible_at_fit(page.page, names)


@pytest.fixture(scope="module")
def crab_1d_report(tmp_path_factory) -> Path:
    """The report of one real ``examples/crab_1d.py`` run, as the demo records it."""
    return record(REPO / "examples" / "crab_1d.py", ["--outdir", "out"], tmp_path_factory.mktemp("crab_1d"))


@pytest.mark.slow
def test_crab_1d_products_view_is_legible(crab_1d_report, tmp_path):
    names = products(crab_1d_report)
    assert {"datasets.yaml", "models.yaml", "flux_points.fits"} <= set(names)  # and the OGIP files of the datasets
    with open_report(crab_1d_report, tmp_path / "profile", width=1280, height=800) as page:
        page.page.locator("#graph").scroll_into_view_if_needed()
        seen = assert_legible_at_fit(page.page, [])
        assert seen["shown"] == "p"
        view, shown = seen["view"], {t["node"]: t for t in seen["texts"]}
        for name, node in product_nodes(crab_1d_report, "p").items():  # every product on screen
            assert node in shown, f"product {name} is not drawn in the products view"
            box = shown[node]
            assert view["left"] <= box["left"] and box["right"] <= view["right"] and view["top"] <= box["top"] and box["bottom"] <= view["bottom"], name
        edges = page.page.evaluate("""() => [...document.querySelectorAll('#graph-view .graph-layer:not([hidden]) g.edge text')].map(t => t.textContent)""")
        assert "SpectrumDatasetOnOff" in edges  # the objects handed from step to step are named on the edges
