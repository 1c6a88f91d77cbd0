"""The demo's chain with a ctapipe Tool upstream (issue 22, "done when"), as a pipeline engineer runs it.

A ctapipe ``Tool`` defined here writes the DL3 data store the chain's first step reads: the four
Crab observations of H.E.S.S. DL3-DR1, each re-written with CTAO reference metadata (the Tool's
activity UUID in the primary header, as ``ctapipe.io.metadata`` writes it), and the store's two
index files cut to those observations.  It declares its inputs and outputs to ctapipe's
``Provenance`` with their roles and writes its own provenance log.  Then the README's lines run
verbatim in a fresh folder: reduce, fit and plot of ``examples/chain`` under ``python -m autoprov``
(reduce reading the Tool's store), ``autoprov import ctapipe`` of the Tool's log, ``autoprov
lineage`` of the plot (through the three runs and the re-written files into the Tool and the
original files) and ``autoprov impact`` of an original file (forward to the plot, the runs to redo).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

if sys.version_info < (3, 12):  # the chain extra is installed in the main (3.12) venv only, as CI's Makefile does
    pytest.importorskip("ctapipe", reason="ctapipe (the chain extra) is tested in the 3.12 venv")

from astropy.io import fits
from ctapipe.core import Provenance, Tool, run_tool
from ctapipe.core.traits import Int, List, Path as PathTrait
from ctapipe.io import metadata

from autoprov.interop.ctapipe_log import read_log

from conftest import GAMMAPY_DATA, REPO
from readme_blocks import blocks, run
from test_ctapipe_interop import read_ctapipe_log

pytestmark = [pytest.mark.slow, pytest.mark.gammapy]
HESS = GAMMAPY_DATA / "hess-dl3-dr1"
OBS_IDS = [23523, 23526, 23559, 23592]  # the observations examples/chain/reduce.py reduces
ORIGINALS = [HESS / "data" / f"hess_dl3_dr1_obs_id_{obs_id:06d}.fits.gz" for obs_id in OBS_IDS]
INDEXES = ["obs-index.fits.gz", "hdu-index.fits.gz"]
SECTION = "Upstream: ctapipe's provenance"


class MakeDataStore(Tool):
    """Writes a DL3 data store of some observations of another: each observation's file re-written
    with CTAO reference metadata, and the obs-index and hdu-index cut to those observations."""

    name = "make-datastore"
    input_dir = PathTrait(exists=True, directory_ok=True, file_ok=False).tag(config=True)
    output_dir = PathTrait(directory_ok=True, file_ok=False).tag(config=True)
    obs_ids = List(Int(), default_value=OBS_IDS).tag(config=True)
    aliases = {"input": "MakeDataStore.input_dir", "output": "MakeDataStore.output_dir"}

    def start(self) -> None:
        reference = self._reference().to_dict(fits=True)
        with fits.open(self.input_dir / "hdu-index.fits.gz") as hdus:
            rows = hdus[1].data[np.isin(hdus[1].data["OBS_ID"], self.obs_ids)]
            files = sorted({Path(str(folder).strip()) / str(name).strip() for folder, name in zip(rows["FILE_DIR"], rows["FILE_NAME"])})
        for relative in files:
            self._rewrite(relative, reference, role="DL3")
        for index in INDEXES:
            self._rewrite(Path(index), reference, role="DL3 index", keep=lambda table: np.isin(table["OBS_ID"], self.obs_ids))

    def _rewrite(self, relative: Path, reference: dict, role: str, keep=None) -> None:
        source, target = self.input_dir / relative, self.output_dir / relative
        Provenance().add_input_file(str(source), role=role)
        target.parent.mkdir(parents=True, exist_ok=True)
        with fits.open(source) as hdus:
            hdus[0].header.update(reference)
            if keep is not None:
                hdus[1] = fits.BinTableHDU(data=hdus[1].data[keep(hdus[1].data)], header=hdus[1].header)
            hdus.writeto(target, overwrite=True)
        Provenance().add_output_file(str(target), role=role)

    def _reference(self) -> metadata.Reference:
        return metadata.Reference(
            contact=metadata.Contact(name="chain test"),
            product=metadata.Product(description="H.E.S.S. DL3-DR1 Crab observations", data_category="Other",
                                     data_levels=["DL3"], data_association="Target", data_model_name="GADF",
                                     data_model_version="0.3", format="fits"),
            process=metadata.Process(type_="Observation", subtype="", id_="crab"),
            activity=metadata.Activity.from_provenance(Provenance().current_activity.provenance),
            instrument=metadata.Instrument(),
        )


@dataclass
class Chain:
    folder: Path
    tool_run: str  # urn:uuid:<the Tool's activity UUID>
    lines: list[str]  # the README block's commands
    before: dict  # lineage of the plot (json) before the Tool's log was imported
    imported: subprocess.CompletedProcess


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Chain:
    """The Tool writes crab-dl3/ and its log; then the README block's chain and import, verbatim."""
    folder = tmp_path_factory.mktemp("ctapipe-chain")
    shutil.copytree(REPO / "examples", folder / "examples")  # a clone's folder, as the README's commands expect
    Provenance().clear()
    assert run_tool(MakeDataStore(), ["--input", str(HESS), "--output", "crab-dl3"], cwd=folder) == 0
    Provenance().clear()
    [activity] = read_log(folder / "make-datastore.provenance.log")
    lines = blocks(SECTION)[1]
    assert len(lines) == 6 and lines[0].startswith("python -m autoprov examples/chain/reduce.py --datastore crab-dl3")
    for line in lines[:3]:
        done = run(line, folder)
        assert done.returncode == 0, (line, done.stderr)
    before = autoprov_json(folder, "lineage", "chain_out/crab_sed.png")
    imported = run(lines[3], folder)
    return Chain(folder, f"urn:uuid:{activity['activity_uuid']}", lines, before, imported)


def autoprov_json(folder: Path, *arguments: str) -> dict:
    done = run(" ".join(["autoprov", *arguments, "--format", "json"]), folder)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def generations(node: dict) -> list[tuple[dict, dict]]:
    """(file node, its generation) for every generated file of a lineage tree, depth first."""
    found = []
    if node.get("generation"):
        found.append((node, node["generation"]))
        for item in node["generation"]["inputs"]:
            found += generations(item)
    return found


def test_the_tool_declared_the_originals_and_wrote_its_uuid_into_the_store(chain: Chain) -> None:
    [activity] = read_log(chain.folder / "make-datastore.provenance.log")
    assert {Path(item["url"]) for item in activity["input"]} == {*ORIGINALS, *(HESS / name for name in INDEXES)}
    assert {item["role"] for item in activity["input"]} == {"DL3", "DL3 index"}
    store = chain.folder / "crab-dl3"
    assert {chain.folder / item["url"] for item in activity["output"]} == \
        {store / "data" / path.name for path in ORIGINALS} | {store / name for name in INDEXES}
    header = fits.getheader(store / "data" / ORIGINALS[0].name)
    assert header["HIERARCH CTA ACTIVITY ID"] == chain.tool_run.removeprefix("urn:uuid:")


def test_before_the_import_the_chain_stops_at_the_tools_files(chain: Chain) -> None:
    """What makes the test below able to fail: without ctapipe's log the walk ends at crab-dl3/."""
    assert all(generation["run_id"] != chain.tool_run for _, generation in generations(chain.before["root"]))
    reduce = [generation for _, generation in generations(chain.before["root"]) if generation["program"].endswith("reduce.py")]
    leaves = {item["path"] for generation in reduce for item in generation["inputs"] if not item["generation"]}
    assert str(chain.folder / "crab-dl3" / "data" / ORIGINALS[0].name) in leaves
    assert not leaves & {str(path) for path in ORIGINALS}


def test_lineage_of_the_figure_reaches_the_tools_inputs_and_names_the_tool(chain: Chain) -> None:
    assert chain.imported.returncode == 0, chain.imported.stderr
    assert chain.imported.stdout.splitlines()[0] == f"imported  {chain.tool_run}"
    done = run(chain.lines[4], chain.folder)
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert f"generated by make-datastore in run {chain.tool_run} (make-datastore, completed)" in text
    assert "(a ctapipe activity imported from its provenance log, matched by the activity UUID in the file's metadata)" in text
    assert f"{chain.folder / 'crab-dl3' / 'data' / ORIGINALS[0].name}  xxh3_128:" in text
    for original, role in [*((path, "DL3") for path in ORIGINALS), *((HESS / name, "DL3 index") for name in INDEXES)]:
        [line] = [line for line in text.splitlines() if f"{original}  xxh3_128:" in line]
        assert line.endswith(f"[{role}, by make-datastore]  (input: produced by no recorded run)")
    assert f"{ORIGINALS[0]}  xxh3_128:" in text.split(f"in run {chain.tool_run}")[1]  # below the Tool, not beside it

    tree = autoprov_json(chain.folder, "lineage", "chain_out/crab_sed.png")["root"]
    chain_runs = [generation["program"] for _, generation in generations(tree)]
    assert chain_runs[0].endswith("plot.py") and any(p.endswith("fit.py") for p in chain_runs) and "make-datastore" in chain_runs
    [(copy, tool)] = [(node, generation) for node, generation in generations(tree)
                      if generation["run_id"] == chain.tool_run and not generation["repeated"]]
    assert Path(copy["path"]).parent.parent == chain.folder / "crab-dl3"
    assert (tool["activity"], tool["matched"]) == ("make-datastore", "activity-uuid")
    assert {(item["path"], item["role"], item["used_by"]) for item in tool["inputs"]} == \
        {(str(path), "DL3", "make-datastore") for path in ORIGINALS} | {(str(HESS / name), "DL3 index", "make-datastore") for name in INDEXES}
    assert all(item["generation"] is None and item["digest"].startswith("xxh3_128:") for item in tool["inputs"])


def test_impact_of_an_original_dl3_file_lists_the_figure_and_the_runs_to_redo(chain: Chain) -> None:
    assert chain.imported.returncode == 0, chain.imported.stderr
    original = ORIGINALS[0]
    assert chain.lines[5].startswith(f"autoprov impact $GAMMAPY_DATA/hess-dl3-dr1/data/{original.name}")
    done = run(chain.lines[5], chain.folder)
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert f"{chain.folder / 'chain_out' / 'crab_sed.png'}  xxh3_128:" in text
    assert f"generated by make-datastore in run {chain.tool_run}" in text
    redo = text.split("runs to redo, in this order (4):\n")[1].splitlines()
    assert [line.split()[0] for line in redo][:1] == [chain.tool_run]
    assert [Path(line.split()[2]).name for line in redo] == ["make-datastore", "reduce.py", "fit.py", "plot.py"]

    result = autoprov_json(chain.folder, "impact", str(original))
    assert result["affected"] and result["exists"]
    assert [(Path(run_["program"]).name, run_["run_id"] == chain.tool_run) for run_ in result["runs"]] == \
        [("make-datastore", True), ("reduce.py", False), ("fit.py", False), ("plot.py", False)]
    assert result["runs"][0]["read"] == [str(original)]
    assert str(chain.folder / "crab-dl3" / "data" / original.name) in result["runs"][1]["read"]
    paths = set()

    def walk(products: list[dict]) -> None:
        for product in products:
            paths.add(product["path"])
            walk(product["products"])

    walk(result["products"])
    assert {str(chain.folder / "chain_out" / name) for name in ("crab_datasets.yaml", "crab_flux_points.fits", "crab_sed.png")} <= paths


def test_the_plot_run_exported_in_ctapipes_format_reads_back(chain: Chain) -> None:
    done = run("autoprov export latest --format ctapipe -o plot.provenance.log", chain.folder)
    assert done.returncode == 0, done.stderr
    [activity] = read_ctapipe_log(chain.folder / "plot.provenance.log")
    assert activity["activity_name"] == "plot.py" and activity["status"] == "completed" and activity["exit_code"] == 0
    assert str(chain.folder / "chain_out" / "crab_flux_points.fits") in [item["url"] for item in activity["input"]]
    assert [item["url"] for item in activity["output"]] == [str(chain.folder / "chain_out" / "crab_sed.png")]
    assert activity["output"][0]["reference_meta"]["AUTOPROV DIGEST"].startswith("xxh3_128:")
    metadata.Activity.from_provenance({**activity, "system": {**activity["system"], "ctapipe_version": "none"}})
