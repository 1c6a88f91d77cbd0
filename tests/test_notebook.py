"""Notebooks: real notebooks executed by a real IPython kernel (nbclient), with the %autoprov magics.

The main notebook is built from ``examples/crab_1d.py`` on the shared data, split into cells at its
section comments; one cell is run twice, one raises, and a function defined in a cell is defined
again (a re-run cell makes a new code object with the same name, file and line).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from autoprov.export.model import RunModel, load
from conftest import GAMMAPY_DATA, REPO, TOYPKG, environment

nbformat = pytest.importorskip("nbformat", reason="the test extra installs nbformat")
nbclient = pytest.importorskip("nbclient", reason="the test extra installs nbclient")

KERNEL = "autoprov-test"


@pytest.fixture
def kernel_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A kernelspec running this interpreter (the venv's), found through JUPYTER_PATH."""
    spec = tmp_path / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": KERNEL, "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    for name, value in environment({"MPLBACKEND": "Agg"}).items():
        monkeypatch.setenv(name, value)
    return KERNEL


def execute(tmp_path: Path, cells: list[str], rerun: int | None = None, raising: tuple[int, ...] = ()) -> object:
    """Run the cells in a real kernel, cell ``rerun`` twice (cells ``raising`` may raise); the executed notebook."""
    notebook = nbformat.v4.new_notebook()
    for index, source in enumerate(cells):
        cell = nbformat.v4.new_code_cell(source)
        if index in raising:
            cell.metadata["tags"] = ["raises-exception"]
        notebook.cells.append(cell)
    client = nbclient.NotebookClient(notebook, kernel_name=KERNEL, timeout=900, resources={"metadata": {"path": str(tmp_path)}})
    with client.setup_kernel():
        for index, cell in enumerate(notebook.cells):
            client.execute_cell(cell, index)
            if index == rerun:
                client.execute_cell(cell, index)
    return notebook


def crab_cells(outdir: Path) -> list[str]:
    """examples/crab_1d.py as notebook cells: the section comments of the script start the cells."""
    source = (REPO / "examples" / "crab_1d.py").read_text()
    body = source.split('"""', 2)[2]  # after the module docstring
    body = body.replace("__doc__.splitlines()[0]", '"crab 1d"')
    body = body.replace("args = parser.parse_args()", f"args = parser.parse_args(['--outdir', {str(outdir)!r}])")
    body = body.replace("Path(__file__).resolve().parents[1].parent", f"Path({str(GAMMAPY_DATA.parent.parent.parent)!r})")
    cells, current = [], []
    for line in body.strip().splitlines():
        if line.startswith("# ") and current and not current[-1].startswith("# "):
            cells.append("\n".join(current).strip())
            current = []
        current.append(line)
    cells.append("\n".join(current).strip())
    return [cell for cell in cells if cell]


def cells_of(model: RunModel) -> list:
    return sorted((a for a in model.activities.values() if a.name == "cell"), key=lambda a: a.start)


def subtree(model: RunModel, act: int) -> list:
    found, pending = [], [act]
    while pending:
        parent = pending.pop()
        for activity in model.activities.values():
            if activity.parent == parent:
                found.append(activity)
                pending.append(activity.act)
    return found


def outputs_text(cell: object) -> str:
    return "".join(out.get("text", "") + out.get("ename", "") + json.dumps(out.get("data", {}))
                   for out in cell.outputs)  # type: ignore[attr-defined]


@pytest.mark.slow
@pytest.mark.gammapy
def test_crab_notebook(tmp_path: Path, kernel_env: str) -> None:
    store, outdir = tmp_path / "store", tmp_path / "out"
    crab = crab_cells(outdir)
    define = "def summarize(datasets):\n    return len(datasets)\n\nprint('summary', summarize(datasets))"
    redefine = "def summarize(datasets):\n    return sum(d.counts.data.sum() for d in datasets)\n\nprint('summary', summarize(datasets))"
    raising = "Datasets.read(outdir / 'missing.yaml')"
    cells = ["%load_ext autoprov", f"%autoprov start --store {store} --match __main__:summarize", *crab,
             define, redefine, raising, "%autoprov status", "%autoprov stop"]
    first_crab = 2
    rerun = cells.index(define)
    notebook = execute(tmp_path, cells, rerun=rerun, raising=(cells.index(raising),))

    outputs = [outputs_text(cell) for cell in notebook.cells]  # type: ignore[attr-defined]
    assert "capturing run" in outputs[1]
    assert "FileNotFoundError" in outputs[cells.index(raising)] or "OSError" in outputs[cells.index(raising)]
    assert re.search(r"capturing run \S+: \d+ cells, \d+ activities", outputs[cells.index("%autoprov status")])
    stop = notebook.cells[-1].outputs  # type: ignore[attr-defined]
    assert any("activities" in out.get("text", "") for out in stop)  # the summary line
    rich = [out for out in stop if out.get("output_type") == "display_data"]
    assert rich and "<svg" in rich[0]["data"]["image/svg+xml"] and "<svg" in rich[0]["data"]["text/html"]

    (run_dir,) = [p for p in store.iterdir() if p.is_dir()]
    model = load(run_dir)
    cell_acts = cells_of(model)
    # every cell after the start is an activity (the re-run one twice), in order, numbered by the kernel
    assert len(cell_acts) == len(cells) - first_crab + 1
    counts = [a.params["execution_count"] for a in cell_acts]
    assert counts == sorted(counts) and len(set(counts)) == len(counts)
    by_position = cell_acts[: rerun - first_crab + 1] + cell_acts[rerun - first_crab + 2:]
    first_run, second_run = cell_acts[rerun - first_crab], cell_acts[rerun - first_crab + 1]
    assert first_run.params["digest"] == second_run.params["digest"] and first_run.act != second_run.act
    assert len(by_position) == len(cells) - first_crab
    failed = cell_acts[-3]
    assert failed.status == "failed" and "Error" in (failed.error or "")
    assert [a.status for a in subtree(model, failed.act)] == ["failed"]  # Datasets.read, failing inside the cell
    assert all(a.status == "completed" for a in cell_acts if a is not failed)

    # the gammapy calls of each cell are nested under it
    def names(cell: object) -> list[str]:
        return [a.name for a in subtree(model, cell.act)]  # type: ignore[attr-defined]

    reduction = next(a for a in cell_acts if "dataset_maker.run" in "".join(names(a)) or "SpectrumDatasetMaker.run" in "".join(names(a)))
    assert sum(name.endswith("SpectrumDatasetMaker.run") for name in names(reduction)) == 4
    assert any(name.endswith("Fit.run") for a in cell_acts for name in names(a))
    # the DL3 files the observations cell and the reduction read are inputs of activities in those cells
    dl3 = {link.entity[1] for link in model.used if link.entity[0] == "file" and "hess-dl3-dr1" in link.entity[1]}
    assert len([path for path in dl3 if "obs_id" in path]) == 4
    inside = {a.act for cell in cell_acts for a in [cell, *subtree(model, cell.act)]}
    outside = [(link.act, model.activities[link.act].name if link.act in model.activities else None, link.entity[1])
               for link in model.used if link.entity[0] == "file" and link.entity[1] in dl3 and link.act not in inside]
    assert not outside, (outside, [a.params for a in model.activities.values() if a.name == "process"])
    written = {Path(link.entity[1]).name for link in model.generated if link.entity[0] == "file"}
    assert {"datasets.yaml", "models.yaml", "flux_points.fits"} <= written

    # a function defined in a cell, the cell run again, then the function defined anew: three calls,
    # each complete and under its own cell
    summaries = [a for a in model.activities.values() if a.name == "__main__.summarize"]
    assert [a.status for a in summaries] == ["completed"] * 3, [(a.status, a.parent) for a in summaries]
    assert [a.parent for a in summaries] == [first_run.act, second_run.act, cell_acts[rerun - first_crab + 2].act]
    assert (run_dir / "provenance.json").exists() and (run_dir / "graph.svg").exists()


def test_one_cell_as_one_run_and_capture_off(tmp_path: Path, kernel_env: str) -> None:
    store = tmp_path / "store"
    cells = [
        "%load_ext autoprov",
        "from toy.core import leaf\nleaf(1)",  # capture off: not recorded anywhere
        f"%%autoprov --store {store} --filter none --match toy.*:*\nleaf(2)\nleaf(3)",
        "%autoprov status",
        f"%%autoprov --store {store} --filter none --match toy.*:*\nleaf(4)\nraise ValueError('in the cell')",
        "%autoprov start --unknown",
        "%autoprov stop",
    ]
    notebook = execute(tmp_path, cells, raising=(4, 5))
    outputs = [outputs_text(cell) for cell in notebook.cells]  # type: ignore[attr-defined]
    assert "not capturing" in outputs[3] and "not capturing" in outputs[6]
    assert "unknown option '--unknown'" in outputs[5]
    assert "ValueError" in outputs[4]
    runs = sorted(p for p in store.iterdir() if p.is_dir())
    assert len(runs) == 2
    first, second = load(runs[0]), load(runs[1])
    assert first.status == "completed" and second.status == "failed"
    assert [a.name for a in first.activities.values()] == ["cell", "toy.core.leaf", "toy.core.leaf"]
    assert [a.params.get("x") for a in first.activities.values()][1:] == [2, 3]
    (cell,) = cells_of(second)
    assert cell.status == "failed" and cell.error.startswith("ValueError")


def test_ipython_is_imported_only_by_the_extension() -> None:
    code = "import sys, autoprov, autoprov.session.capture, autoprov.session.run; print('IPython' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment())
    assert done.stdout.strip() == "False", done.stderr
    code = ("from IPython.testing.globalipapp import start_ipython; import sys; ip = start_ipython(); "
            "print('autoprov.notebook' in sys.modules); ip.run_line_magic('load_ext', 'autoprov'); "
            "print('autoprov.notebook' in sys.modules, 'autoprov' in ip.magics_manager.magics['line'])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment({"PYTHONPATH": str(TOYPKG)}))
    assert done.stdout.split() == ["False", "True", "True"], done.stderr


@pytest.mark.gammapy
def test_start_without_options_in_an_empty_folder(tmp_path: Path, kernel_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's first notebook line, ``%autoprov start`` with no option, in a fresh folder: the
    run lands in that folder's ``.prov/`` and records the gammapy call by default (issue 24)."""
    folder = tmp_path / "analysis"
    folder.mkdir()
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    cells = [
        "%load_ext autoprov",
        "%autoprov start",
        "import os\nfrom gammapy.data import DataStore\nstore = DataStore.from_dir(os.environ['GAMMAPY_DATA'] + '/hess-dl3-dr1')",
        "%autoprov stop",
    ]
    notebook = execute(folder, cells)
    outputs = [outputs_text(cell) for cell in notebook.cells]  # type: ignore[attr-defined]
    assert "capturing run" in outputs[1], outputs
    (run,) = [p for p in (folder / ".prov").iterdir() if p.is_dir()]
    assert run.name in outputs[3]
    model = load(run)
    assert model.status == "completed" and model.info["filters"] == ["gammapy"]
    names = [a.name for a in model.activities.values()]
    assert names[0] == "cell" and any(name.endswith("DataStore.from_dir") for name in names), names
