"""Property reads of a gammapy analysis are recorded, but left out of the views by default.

``tests/scripts/gammapy/map_dataset_reads.py`` (a small 3D analysis in gammapy's documentation style)
reads ``observation.events`` and ``dataset.models``, which the shipped filter records (the getters of
its generated block), and sets ``dataset.models`` (a setter: it changes the dataset).  By default the
graph, the summary line, the report and the lineage steps show the analysis without the reads; the
PROV documents hold them, marked ``autoprov:accessor``; ``--all`` (``--full`` for lineage) shows them.
What a hidden read returned keeps its lineage: the counts map filled from the observation's events
still goes back to the run's DL3 file, in the graph and in the report.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import prov.model
import pytest

from conftest import REPO, environment

pytestmark = [pytest.mark.slow, pytest.mark.gammapy]
SCRIPT = REPO / "tests" / "scripts" / "gammapy" / "map_dataset_reads.py"
DL3_FILE = "hess_dl3_dr1_obs_id_023523.fits.gz"


def autoprov(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "autoprov", *args], cwd=cwd, capture_output=True, text=True,
                          env=environment(), timeout=600)
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[Path, Path, str]:
    """(working folder, run folder, the run's stderr)."""
    cwd = tmp_path_factory.mktemp("reads")
    done = autoprov(cwd, "--store", ".prov", "--export", "sync", "--format", "json,html", str(SCRIPT), "out")
    (run_dir,) = [path for path in (cwd / ".prov").iterdir() if (path / "events.jsonl").exists()]
    return cwd, run_dir, done.stderr


def activities(run_dir: Path) -> dict[str, dict]:
    """The activities of the run's PROV-JSON, read back with the prov library: id -> attributes."""
    document = prov.model.ProvDocument.deserialize(run_dir / "provenance.json", format="json")
    return {str(record.identifier): {str(key): value for key, value in record.attributes}
            for record in document.get_records(prov.model.ProvActivity)}


def report_data(path: Path) -> dict:
    return json.loads(re.search(r'<script type="application/json" id="report-data">(.*?)</script>', path.read_text(), re.S).group(1))


def test_reads_are_in_the_record_and_out_of_the_views(run: tuple[Path, Path, str]) -> None:
    cwd, run_dir, stderr = run
    recorded = activities(run_dir)
    reads = {key: value["prov:label"] for key, value in recorded.items() if value.get("autoprov:accessor") == "getter"}
    assert sorted(reads.values()) == ["gammapy.data.observations.Observation.events", "gammapy.datasets.map.MapDataset.models"]
    setters = [key for key, value in recorded.items() if value["prov:label"].endswith("MapDataset.models") and key not in reads]
    assert len(setters) == 1  # dataset.models = ...: changes the dataset, no accessor mark
    shown = len(recorded) - 1 - len(reads)  # without the run's own activity
    assert f": {shown} activities (+2 property reads, not drawn: autoprov graph --all)" in stderr.splitlines()[-1]

    graph = (run_dir / "graph.dot").read_text()
    assert "Observation.events" not in graph and graph.count('label="MapDataset.models') == 1  # the setter
    data = report_data(run_dir / "report.html")
    numbers = {f"run:act_{act['n']}" for act in data["acts"]}
    assert numbers == set(recorded) - set(reads) - {"run:session"}
    assert f"{shown} activities (+2 property reads and library-internal commands, not shown" in (run_dir / "report.html").read_text()

    autoprov(cwd, "graph", "--store", ".prov", run_dir.name, "--all", "-o", "all.dot")
    autoprov(cwd, "report", "--store", ".prov", run_dir.name, "--all", "-o", "all.html")
    graph_all = (cwd / "all.dot").read_text()
    assert "Observation.events" in graph_all and graph_all.count('label="MapDataset.models') == 2
    assert {f"run:act_{act['n']}" for act in report_data(cwd / "all.html")["acts"]} == set(recorded) - {"run:session"}


def test_what_a_hidden_read_returned_keeps_its_lineage(run: tuple[Path, Path, str]) -> None:
    _, run_dir, _ = run
    graph = (run_dir / "graph.dot").read_text()
    nodes = dict(re.findall(r'^  (e\d+) \[.*?label="([^"]*)"', graph, re.M))
    (file_node,) = [node for node, label in nodes.items() if label.startswith(DL3_FILE)]
    (events_node,) = [node for node, label in nodes.items() if label.startswith("EventList")]
    assert f'{file_node} -> {events_node} [style=dashed, color="#999999", label=".events"]' in graph

    # the report's data: from counts.fits back through its generators' inputs and derivations to the DL3 file
    data = report_data(run_dir / "report.html")
    acts = {act["n"]: act for act in data["acts"]}
    (counts,) = [index for index, entity in enumerate(data["ents"]) if entity["label"] == "counts.fits"]
    seen, todo = set(), [counts]
    while todo:
        index = todo.pop()
        if index not in seen:
            seen.add(index)
            entity = data["ents"][index]
            todo += entity["from"] + entity.get("prev", [])
            todo += [used for act, _, _ in entity["gen"] if act in acts for used, _ in acts[act]["used"]]
    assert any(data["ents"][index]["label"] == DL3_FILE for index in seen)


def test_lineage_steps_leave_reads_out_unless_full(run: tuple[Path, Path, str]) -> None:
    cwd, run_dir, _ = run
    reads = {key for key, value in activities(run_dir).items() if value.get("autoprov:accessor") == "getter"}

    def step_activities(*options: str) -> set[str]:
        tree = json.loads(autoprov(cwd, "lineage", "--store", ".prov", "out/models.yaml", "--format", "json", *options).stdout)
        found: set[str] = set()
        todo = list(tree["root"]["generation"]["steps"])
        while todo:
            step = todo.pop()
            found.update(step["activities"])
            todo += step["steps"]
        return found

    condensed, full = step_activities(), step_activities("--full")
    assert not condensed & reads  # dataset.models, read to write the fitted models, is no step
    assert [activities(run_dir)[key]["prov:label"] for key in full & reads] == ["gammapy.datasets.map.MapDataset.models"]
    assert condensed < full
    text = autoprov(cwd, "lineage", "--store", ".prov", "out/models.yaml").stdout
    steps = text[text.index("steps:"):]
    assert "Fit.run" in steps and "MapDatasetMaker.run" in steps and steps.count("MapDataset.models") == 1  # the setter
    assert DL3_FILE in text  # the input behind it all
