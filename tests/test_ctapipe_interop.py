"""ctapipe interoperability (issue 22): real ctapipe Tools, their real provenance logs, real autoprov runs.

A ctapipe ``Tool`` defined here turns a calibration text file into a DL3-like FITS file carrying
ctapipe's reference metadata (the activity UUID among it) and appends its provenance log; a
gammapy script run under ``python -m autoprov`` reads that file; ``autoprov import ctapipe`` reads
the log into the index, and ``autoprov lineage`` of the script's output walks back through the
FITS file into the Tool and its input.  The other direction: ``autoprov export --format ctapipe``
is read back the way ctapipe's own log is read.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

if sys.version_info < (3, 12):  # the chain extra is installed in the main (3.12) venv only, as CI's Makefile does
    pytest.importorskip("ctapipe", reason="ctapipe (the chain extra) is tested in the 3.12 venv")

from astropy import units as u
from astropy.io import fits
from astropy.table import Table
from ctapipe.core import Provenance, Tool, run_tool
from ctapipe.core.traits import Float, Path as PathTrait
from ctapipe.io import metadata

from autoprov.interop.ctapipe_import import activity_rows
from autoprov.interop.ctapipe_log import read_log

from conftest import environment

pytestmark = pytest.mark.slow  # ctapipe's import (numba) takes seconds


class MakeDL3(Tool):
    """Scales a calibration column into an EVENTS table, as a DL3 maker would, with CTAO reference metadata."""

    name = "make-dl3"
    input_path = PathTrait(exists=True, directory_ok=False).tag(config=True)
    output_path = PathTrait(directory_ok=False).tag(config=True)
    gain = Float(2.0).tag(config=True)
    aliases = {"input": "MakeDL3.input_path", "output": "MakeDL3.output_path", "gain": "MakeDL3.gain"}

    def start(self) -> None:
        Provenance().add_input_file(str(self.input_path), role="calibration")
        energy = np.loadtxt(self.input_path) * self.gain
        reference = metadata.Reference(
            contact=metadata.Contact(name="test"),
            product=metadata.Product(description="DL3 events", data_category="Sim", data_levels=["DL3"],
                                     data_association="Subarray", data_model_name="test", data_model_version="1", format="fits"),
            process=metadata.Process(type_="Simulation", subtype="", id_="1"),
            activity=metadata.Activity.from_provenance(Provenance().current_activity.provenance),
            instrument=metadata.Instrument(),
        )
        header = fits.Header()
        header.update(reference.to_dict(fits=True))
        events = Table({"TIME": np.arange(len(energy), dtype=float) * u.s, "ENERGY": energy * u.TeV,
                        "RA": np.full(len(energy), 83.6) * u.deg, "DEC": np.full(len(energy), 22.0) * u.deg})
        events.meta.update({"EXTNAME": "EVENTS", "MJDREFI": 51910, "MJDREFF": 0.00074287037, "TIMESYS": "TT", "TIMEUNIT": "s"})
        fits.HDUList([fits.PrimaryHDU(header=header), fits.table_to_hdu(events)]).writeto(self.output_path, overwrite=True)
        Provenance().add_output_file(str(self.output_path), role="DL3")


ANALYSIS = """\
import sys
from gammapy.data import EventList

events = EventList.read(sys.argv[1])
events.table.write(sys.argv[2], format="ascii.ecsv", overwrite=True)
"""


def autoprov(*arguments: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autoprov", *arguments], cwd=cwd, env=environment(),
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two runs of the Tool into one log (two JSON arrays back to back), then the analysis of each
    product under autoprov (``events.ecsv`` last: the latest run); the other product is deleted."""
    folder = tmp_path_factory.mktemp("chain")
    (folder / "calibration.txt").write_text("1\n2\n3\n")
    Provenance().clear()
    for name, gain in (("dl3.fits", "3"), ("dl3_other.fits", "5")):
        assert run_tool(MakeDL3(), ["--input", "calibration.txt", "--output", name, "--gain", gain,
                                    "--provenance-log", "make-dl3.provenance.log"], cwd=folder) == 0
        Provenance().clear()
    (folder / "analysis.py").write_text(ANALYSIS)
    for dl3, events in (("dl3_other.fits", "events_other.ecsv"), ("dl3.fits", "events.ecsv")):
        run = autoprov("--export", "sync", "analysis.py", dl3, events, cwd=folder)
        assert run.returncode == 0, run.stderr
    (folder / "dl3_other.fits").unlink()  # scratch space cleaned before the log is imported
    return folder


def test_the_log_is_concatenated_arrays_and_every_activity_is_read(chain: Path) -> None:
    text = (chain / "make-dl3.provenance.log").read_text()
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)  # ctapipe issue 3058: what a plain reader meets
    activities = read_log(chain / "make-dl3.provenance.log")
    assert [a["activity_name"] for a in activities] == ["make-dl3", "make-dl3"]
    assert [a["config"]["MakeDL3"]["gain"] for a in activities] == [3.0, 5.0]


def test_lineage_reaches_the_tools_input_through_the_dl3_file(chain: Path) -> None:
    before = autoprov("lineage", "events.ecsv", cwd=chain)
    assert "(input: produced by no recorded run)" in before.stdout and "make-dl3" not in before.stdout
    imported = autoprov("import", "ctapipe", "make-dl3.provenance.log", cwd=chain)
    assert imported.returncode == 0, imported.stderr
    uuids = [a["activity_uuid"] for a in read_log(chain / "make-dl3.provenance.log")]
    assert imported.stdout.splitlines()[:2] == [f"imported  urn:uuid:{uuid}" for uuid in uuids]
    lineage = autoprov("lineage", "events.ecsv", cwd=chain)
    assert lineage.returncode == 0, lineage.stderr
    text = lineage.stdout
    assert f"generated by make-dl3 in run urn:uuid:{uuids[0]}" in text
    assert "matched by the activity UUID in the file's metadata" in text
    assert f"{chain / 'calibration.txt'}" in text and "[calibration, by make-dl3]" in text
    assert uuids[1] not in text  # the other run of the Tool made another file
    data = json.loads(autoprov("lineage", "events.ecsv", "--format", "json", cwd=chain).stdout)
    tool = data["root"]["generation"]["inputs"][0]["generation"]
    assert (tool["run_id"], tool["activity"], tool["matched"]) == (f"urn:uuid:{uuids[0]}", "make-dl3", "activity-uuid")
    assert tool["inputs"][0]["path"] == str(chain / "calibration.txt")


def test_imported_runs_are_ordinary_runs_and_importing_again_changes_nothing(chain: Path) -> None:
    assert autoprov("import", "ctapipe", "make-dl3.provenance.log", cwd=chain).returncode == 0
    database = chain / ".prov" / "index.sqlite"
    counts = _counts(database)
    again = autoprov("import", "ctapipe", str(chain / "make-dl3.provenance.log"), cwd=chain)
    assert again.returncode == 0, again.stderr
    assert _counts(database) == counts
    uuid = read_log(chain / "make-dl3.provenance.log")[1]["activity_uuid"]
    listed = autoprov("list", "--param", "MakeDL3.gain=5.0", cwd=chain).stdout
    assert f"urn:uuid:{uuid}  completed" in listed and "make-dl3" in listed
    used = json.loads(autoprov("list", "--used", "calibration.txt", "--format", "json", cwd=chain).stdout)
    assert {run["program"] for run in used} == {"make-dl3"} and f"urn:uuid:{uuid}" in {run["run_id"] for run in used}
    with sqlite3.connect(database) as connection:
        packages = dict(connection.execute("select name, version from run_package where run_id = ?", (f"urn:uuid:{uuid}",)))
        run = connection.execute("select engine, python_version, host, command from run where run_id = ?", (f"urn:uuid:{uuid}",)).fetchone()
    assert packages["ctapipe"] == "0.32.0" or packages["ctapipe"].startswith("0.")
    assert run[0] == "ctapipe" and run[1] == ".".join(map(str, sys.version_info[:3])) and run[2] == os.uname().nodename


def _counts(database: Path) -> dict[str, int]:
    with sqlite3.connect(database) as connection:
        tables = [row[0] for row in connection.execute("select name from sqlite_master where type = 'table'")]
        return {table: connection.execute(f"select count(*) from {table}").fetchone()[0] for table in tables}


def test_files_that_cannot_be_tied_to_the_activity_get_no_digest(chain: Path, tmp_path: Path) -> None:
    """No UUID in the file: matched by path and time; modified after the activity, or gone: not verifiable."""
    record = read_log(chain / "make-dl3.provenance.log")[0]
    plain = tmp_path / "plain.fits"
    fits.HDUList([fits.PrimaryHDU()]).writeto(plain)  # written before the activity's stop time below
    os.utime(plain, (1_000_000_000, 1_000_000_000))
    changed = tmp_path / "changed.fits"
    fits.HDUList([fits.PrimaryHDU()]).writeto(changed)  # now: after the activity ended
    record = {**record, "output": [{"url": str(plain), "role": "DL3", "reference_meta": None},
                                   {"url": f"file://{changed}", "role": "DL3", "reference_meta": None},
                                   {"url": str(tmp_path / "gone.fits"), "role": "DL3", "reference_meta": None}]}
    _, rows = activity_rows(record, chain / "make-dl3.provenance.log")
    files = {Path(row["location"]).name: row for row in rows["entity"] if row["kind"] == "file"}
    assert json.loads(files["plain.fits"]["annotation"])["ctapipe_match"] == "path-and-time"
    assert files["plain.fits"]["digest"].startswith("xxh3_128:")
    for name in ("changed.fits", "gone.fits"):
        annotation = json.loads(files[name]["annotation"])
        assert files[name]["digest"] is None and annotation["verifiable"] is False and annotation["reason"]


@pytest.mark.parametrize("text, where", [
    ('[{"activity_name": "a", "activity_uuid": "3f1c6d8e-0000-4000-8000-000000000001"}]\n[{"activity_name": "b",', ":2:"),
    ('{"activity_name": "a"}', ":1:1"),
    ('[{"activity_name": "a"}]', ":1:1"),
])
def test_a_bad_log_is_one_error_naming_file_and_position(chain: Path, tmp_path: Path, text: str, where: str) -> None:
    log = tmp_path / "broken.provenance.log"
    log.write_text(text)
    result = autoprov("import", "ctapipe", str(chain / "make-dl3.provenance.log"), str(log), cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith(f"autoprov: error: {log}{where}") and line.endswith("[AP007]")
    assert not (tmp_path / ".prov" / "index.sqlite").exists()  # the good log before it was not imported either


def read_ctapipe_log(path: Path) -> list[dict]:
    """A reader written the way ctapipe's provenance log is read: json, then the activity keys."""
    activities = json.loads(path.read_text())
    return [{key: activity[key] for key in ("activity_name", "activity_uuid", "status", "start", "stop", "system",
                                            "input", "output", "exit_code", "config", "duration_min")}
            for activity in activities]


def test_export_format_ctapipe_is_read_back_as_a_ctapipe_log(chain: Path) -> None:
    result = autoprov("export", "latest", "--format", "ctapipe", "-o", "analysis.provenance.log", cwd=chain)
    assert result.returncode == 0, result.stderr
    [activity] = read_ctapipe_log(chain / "analysis.provenance.log")
    assert activity["activity_name"] == "analysis.py" and activity["status"] == "completed" and activity["exit_code"] == 0
    assert [item["url"] for item in activity["input"]] == [str(chain / "dl3.fits")]
    assert activity["input"][0]["reference_meta"]["AUTOPROV DIGEST"].startswith("xxh3_128:")
    assert [item["url"] for item in activity["output"]] == [str(chain / "events.ecsv")]
    assert activity["output"][0]["reference_meta"]["AUTOPROV DIGEST"].startswith("xxh3_128:")
    assert activity["system"]["arguments"] == ["analysis.py", "dl3.fits", "events.ecsv"]
    assert activity["start"]["time_utc"] < activity["stop"]["time_utc"]
    assert isinstance(activity["config"], dict)  # the recorded calls' parameters (none matched here)
    metadata.Activity.from_provenance({**activity, "system": {**activity["system"], "ctapipe_version": "none"}})


def test_the_readme_commands_run(chain: Path) -> None:
    from readme_blocks import blocks, run

    lines = blocks("Upstream: ctapipe's provenance")[0]  # the second block: tests/test_ctapipe_chain_gammapy.py
    assert len(lines) == 4
    outputs = []
    for line in lines:
        result = run(line, chain)
        assert result.returncode == 0, (line, result.stderr)
        outputs.append(result.stdout)
    assert "matched by the activity UUID" in outputs[1] and "calibration.txt" in outputs[1]
    assert "make-dl3" in outputs[2]
    assert read_ctapipe_log(chain / "analysis.provenance.log")[0]["activity_name"] == "analysis.py"


def test_an_hdf5_product_is_matched_by_the_uuid_in_its_root_attributes(chain: Path, tmp_path: Path) -> None:
    """ctapipe's HDF5 products carry ``CTA ACTIVITY ID`` on the root node (``ctapipe.io.metadata.write_to_hdf5``)."""
    import tables

    record = read_log(chain / "make-dl3.provenance.log")[0]
    product = tmp_path / "dl2.h5"
    reference = metadata.Reference(contact=metadata.Contact(name="test"), product=metadata.Product(),
                                   process=metadata.Process(), activity=metadata.Activity.from_provenance(record),
                                   instrument=metadata.Instrument())
    with tables.open_file(product, "w") as h5file:
        metadata.write_to_hdf5(reference.to_dict(), h5file)
    os.utime(product, (1_000_000_000, 1_000_000_000))  # older than the activity: only the UUID can tie it
    other = {**record, "activity_uuid": "5b0c3ad4-6f57-4c4e-9a52-2b7d0f3c9e11"}
    for activity, expected in ((record, "activity-uuid"), (other, None)):
        _, rows = activity_rows({**activity, "output": [{"url": str(product), "role": "DL2", "reference_meta": None}]},
                                chain / "make-dl3.provenance.log")
        [entity] = [row for row in rows["entity"] if row["location"] == str(product)]
        assert json.loads(entity["annotation"])["ctapipe_match"] == expected
    assert "carries activity" in json.loads(entity["annotation"])["reason"]


def test_a_product_gone_before_the_import_is_joined_by_path_only_and_said_so(chain: Path) -> None:
    assert autoprov("import", "ctapipe", "make-dl3.provenance.log", cwd=chain).returncode == 0
    uuid = read_log(chain / "make-dl3.provenance.log")[1]["activity_uuid"]
    lineage = autoprov("lineage", "events_other.ecsv", cwd=chain)
    assert lineage.returncode == 0, lineage.stderr
    assert f"generated by make-dl3 in run urn:uuid:{uuid}" in lineage.stdout
    assert "matched by path only: the file was gone when the log was imported" in lineage.stdout
    assert "[calibration, by make-dl3]" in lineage.stdout


def test_impact_of_the_tools_input_reaches_the_gammapy_product(chain: Path) -> None:
    """The forward question across tools: what did the calibration file the ctapipe Tool read affect?"""
    assert autoprov("import", "ctapipe", "make-dl3.provenance.log", cwd=chain).returncode == 0
    uuid = read_log(chain / "make-dl3.provenance.log")[0]["activity_uuid"]
    done = autoprov("impact", "calibration.txt", "--format", "json", cwd=chain)
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert str(chain / "dl3.fits") in text and str(chain / "events.ecsv") in text
    runs = json.loads(text)["runs"]
    assert f"urn:uuid:{uuid}" in json.dumps(runs)  # the Tool's run is one to redo, and the analysis after it
    assert any("analysis.py" in json.dumps(run) for run in runs)


class CopyDL3(Tool):
    """Copies a file byte for byte, as a Tool that stages DL3 files into a data store does."""

    name = "copy-dl3"
    input_path = PathTrait(exists=True, directory_ok=False).tag(config=True)
    output_path = PathTrait(directory_ok=False).tag(config=True)
    aliases = {"input": "CopyDL3.input_path", "output": "CopyDL3.output_path"}

    def start(self) -> None:
        Provenance().add_input_file(str(self.input_path), role="DL3", add_meta=False)
        self.output_path.write_bytes(self.input_path.read_bytes())
        Provenance().add_output_file(str(self.output_path), role="DL3", add_meta=False)


def test_a_copy_made_by_a_tool_leads_to_its_source_and_back(tmp_path: Path) -> None:
    """A copy has its source's content: lineage of what was made from the copy still reaches the source
    (named as the Tool read it), and the source's impact lists the copy and what was made from it."""
    (tmp_path / "original.txt").write_text("1\n2\n")
    Provenance().clear()
    assert run_tool(CopyDL3(), ["--input", "original.txt", "--output", "staged.txt"], cwd=tmp_path) == 0
    Provenance().clear()
    (tmp_path / "double.py").write_text("import sys\nopen(sys.argv[2], 'w').write(open(sys.argv[1]).read() * 2)\n")
    assert autoprov("--quiet", "double.py", "staged.txt", "doubled.txt", cwd=tmp_path).returncode == 0
    assert autoprov("import", "ctapipe", "copy-dl3.provenance.log", cwd=tmp_path).returncode == 0
    tree = json.loads(autoprov("lineage", "doubled.txt", "--format", "json", cwd=tmp_path).stdout)["root"]
    [staged] = tree["generation"]["inputs"]
    assert (staged["path"], staged["generation"]["activity"]) == (str(tmp_path / "staged.txt"), "copy-dl3")
    [source] = staged["generation"]["inputs"]
    assert (source["path"], source["digest"], source["role"]) == (str(tmp_path / "original.txt"), staged["digest"], "DL3")
    assert source["generation"] is None and source["changed_after"] is None  # an input: produced by no recorded run
    impact = json.loads(autoprov("impact", "original.txt", "--format", "json", cwd=tmp_path).stdout)
    assert {Path(product["path"]).name for product in impact["products"]} == {"staged.txt", "doubled.txt"}
    assert [Path(run["program"]).name for run in impact["runs"]] == ["copy-dl3", "double.py"]
