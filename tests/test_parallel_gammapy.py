"""gammapy's own parallel execution: the parallel record is the serial record, each part under its process.

``examples/crab_1d_parallel.py`` runs the Crab 1D analysis with ``DatasetsMaker(n_jobs=...)`` and
``FluxPointsEstimator(n_jobs=...)`` on the four H.E.S.S. runs.  Run serially (``--n-jobs 1``) and
in parallel (two workers, with each multiprocessing start method and with Ray), the records must
hold the same activities (names and counts, autoprov's own process/task/command activities
aside) and the same input files with the same digests; in the parallel record every maker call
sits under a task of a worker process, and each task is informed by the call that submitted it.
The output files carry gammapy's random dataset names and creation dates, so their digests differ
even between two serial runs: they are compared by name and count, and each must have a digest.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from autoprov.export.model import RunModel, load
from conftest import GAMMAPY_DATA, REPO, environment

pytestmark = [pytest.mark.slow, pytest.mark.gammapy]
SCRIPT = REPO / "examples" / "crab_1d_parallel.py"
MAKERS = ("SpectrumDatasetMaker.run", "ReflectedRegionsBackgroundMaker.run", "SafeMaskMaker.run")
RANDOM_NAME = re.compile(r"(pha|arf|rmf|bkg)_obs[A-Za-z0-9_-]+\.fits")


def run_analysis(tmp_path: Path, name: str, *args: str) -> Path:
    store, outdir = tmp_path / f"store-{name}", tmp_path / f"out-{name}"
    command = [sys.executable, "-m", "autoprov", "--store", str(store), "--quiet", "--export", "sync", "--graph", "none",
               "--format", "json", str(SCRIPT), "--outdir", str(outdir), *args]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, env=environment({"GAMMAPY_DATA": str(GAMMAPY_DATA)}),
                          timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Flux points TS" in done.stdout
    (run_dir,) = [p for p in store.iterdir() if p.is_dir()]
    return run_dir


def summary(model: RunModel) -> tuple[Counter, dict[str, str | None], Counter]:
    """(activity names and counts, input path -> digest, output names and counts): what must agree."""
    names = Counter(a.name for a in model.activities.values() if not a.rule.startswith("autoprov:"))
    inputs = {}
    for link in model.used:
        if link.entity[0] == "file" and GAMMAPY_DATA.as_posix() in link.entity[1]:
            digest = model.digests.get((link.entity[1], link.entity[2]))
            inputs[link.entity[1]] = digest[1] if digest else None
    outputs = Counter()
    for link in model.generated:
        if link.entity[0] == "file":
            outputs[RANDOM_NAME.sub(r"\1_obs<name>.fits", Path(link.entity[1]).name)] += 1
            assert model.digests.get((link.entity[1], link.entity[2]), (None, None))[1], link.entity
    return names, inputs, outputs


def ancestors(model: RunModel, act: int | None) -> list:
    chain = []
    while act is not None:
        activity = model.activities[act]
        chain.append(activity)
        act = activity.parent
    return chain


@pytest.fixture(scope="module")
def serial(tmp_path_factory: pytest.TempPathFactory) -> tuple[Counter, dict, Counter]:
    model = load(run_analysis(tmp_path_factory.mktemp("serial"), "serial", "--n-jobs", "1"))
    assert not [a for a in model.activities.values() if a.name == "process"]
    names, inputs, outputs = summary(model)
    assert all(names[f"gammapy.makers.{module}.{maker}"] == 4 for module, maker in
               zip(("spectrum", "background.reflected", "safe"), MAKERS))
    assert len([path for path in inputs if "hess_dl3_dr1_obs_id" in path]) == 4 and all(inputs.values())
    return names, inputs, outputs


def assert_equivalent(model: RunModel, serial: tuple[Counter, dict, Counter], workers: int) -> None:
    names, inputs, outputs = summary(model)
    assert names == serial[0]
    assert inputs == serial[1]  # the same DL3 files and IRFs, the same digests
    assert outputs == serial[2]
    processes = [a for a in model.activities.values() if a.name == "process"]
    assert len(processes) >= workers and all(p.status == "completed" for p in processes), [(p.status, p.params) for p in processes]
    (reduction,) = [a for a in model.activities.values() if a.name.endswith("DatasetsMaker.run")]
    (estimator,) = [a for a in model.activities.values() if a.name.endswith("FluxPointsEstimator.run")]
    for activity in model.activities.values():
        if activity.name.endswith(MAKERS):  # each maker call: under a task, under a worker process
            chain = ancestors(model, activity.parent)
            assert [a.name for a in chain[:2]] == ["task", "process"], [a.name for a in chain]
    informed = dict(model.informed)
    tasks = [a for a in model.activities.values() if a.name == "task"]
    reduction_tasks = [t for t in tasks if t.params["function"].endswith("DatasetsMaker.make_dataset")]
    estimator_tasks = [t for t in tasks if t.params["function"].endswith("FluxPointsEstimator.estimate_flux_point")]
    assert len(reduction_tasks) == 4 and {informed[t.act] for t in reduction_tasks} == {reduction.act}
    assert len(estimator_tasks) == 4 and {informed[t.act] for t in estimator_tasks} == {estimator.act}
    # the DL3 event lists were read by the workers, each one inside the task that reduced it
    for link in model.used:
        if link.entity[0] == "file" and "hess_dl3_dr1_obs_id" in link.entity[1]:
            assert "task" in [a.name for a in ancestors(model, link.act)]


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_multiprocessing_backend_record_equals_serial(tmp_path: Path, serial: tuple, method: str) -> None:
    model = load(run_analysis(tmp_path, method, "--n-jobs", "2", "--start-method", method))
    assert_equivalent(model, serial, workers=2)
    assert {p.params["start_method"] for p in model.activities.values() if p.name == "process"} == {method}


@pytest.mark.skipif(sys.version_info < (3, 12), reason="Ray tests run on Python 3.12 only")
@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="Ray is not installed (pip install 'autoprov[ray]')")
def test_ray_backend_record_equals_serial(tmp_path: Path, serial: tuple) -> None:
    model = load(run_analysis(tmp_path, "ray", "--n-jobs", "2", "--backend", "ray"))
    assert_equivalent(model, serial, workers=2)
    workers = [p for p in model.activities.values() if p.name == "process" and p.params["kind"] == "ray"]
    assert len(workers) >= 2
    # Ray's own daemons are programs the run started: commands, not processes of the analysis
    commands = [a for a in model.activities.values() if a.name == "command"]
    assert any("raylet" in " ".join(c.params["argv"]) for c in commands)
