"""``autoprov verify`` and ``autoprov rerun`` on real runs of a small analysis (tests/scripts/reproduce_toy.py)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import SCRIPTS, environment

TOY = SCRIPTS / "reproduce_toy.py"


def autoprov(tmp_path: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autoprov", *args], cwd=tmp_path, capture_output=True, text=True,
                          env=environment(env), timeout=300)


def record(tmp_path: Path, *args: str, script: str = str(TOY), env: dict | None = None) -> None:
    """Run the toy under autoprov in ``tmp_path``, reading in.txt, writing into out/."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    if not (tmp_path / "in.txt").exists():
        (tmp_path / "in.txt").write_text("7\n")
    done = autoprov(tmp_path, "--store", ".prov", "--filter", "none", "--format", "json", "--graph", "none", script, "in.txt", *args, env=env)
    assert done.returncode == 0, done.stderr


def table(stdout: str) -> dict[str, tuple[str, str]]:
    """The rerun table as {output: (result, how)}."""
    rows = {}
    for line in stdout.splitlines()[1:]:
        output, result, how = line.split(None, 2)
        rows[output] = (result, how)
    return rows


def digests(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def test_verify_says_which_files_changed(tmp_path):
    record(tmp_path)
    done = autoprov(tmp_path, "verify", "--store", ".prov")
    assert done.returncode == 0, done.stdout + done.stderr
    states = {line.split()[2]: line.split()[0] for line in done.stdout.splitlines()[1:]}
    assert states == {str(TOY): "same", "in.txt": "same", "out/constant.txt": "same", "out/result.json": "same",
                      "out/summary.yaml": "same", "out/table.fits": "same"}
    assert "6 files, none changed" in done.stderr
    (tmp_path / "out" / "result.json").write_text("{}")
    (tmp_path / "out" / "constant.txt").unlink()
    done = autoprov(tmp_path, "verify", "--store", ".prov")
    assert done.returncode == 1
    states = {line.split()[2]: line.split()[0] for line in done.stdout.splitlines()[1:]}
    assert states["out/result.json"] == "changed" and states["out/constant.txt"] == "missing" and states["in.txt"] == "same"
    assert "6 files, 2 changed" in done.stderr


def test_a_deterministic_run_reproduces_without_touching_the_originals(tmp_path):
    work = tmp_path / "project"
    work.mkdir()
    shutil.copy(TOY, work / "toy.py")  # the program inside the working directory: found through the mirror
    record(work, "--outdir", str(work / "out"), script="toy.py")  # an absolute output folder inside the cwd
    before = digests(work / "out")
    done = autoprov(work, "rerun", "--store", ".prov", "--into", str(tmp_path / "scratch"))
    assert done.returncode == 0, done.stdout + done.stderr
    rows = table(done.stdout)
    # astropy stamps the DATASUM comment to the second: two writes within one second leave it equal
    fits_notes = {"FITS: same data and headers, apart from CHECKSUM, CREATED" + tail for tail in ("", ", DATASUM comment")}
    assert rows.pop("out/table.fits") in {("same", note) for note in fits_notes}
    assert rows == {
        "out/constant.txt": ("same", "identical bytes"),
        "out/result.json": ("same", "JSON: equal after parsing, apart from created"),
        "out/summary.yaml": ("same", "YAML: equal after parsing, apart from metadata.date"),
    }
    assert "all 4 outputs reproduced" in done.stderr
    assert digests(work / "out") == before  # the originals were never written
    remade = tmp_path / "scratch" / "work" / "out"
    assert sorted(p.name for p in remade.iterdir()) == ["constant.txt", "result.json", "summary.yaml", "table.fits"]
    assert (tmp_path / "scratch" / "work" / "toy.py").is_symlink()
    (rerun_record,) = [p for p in (tmp_path / "scratch" / "store").iterdir() if p.is_dir()]  # the re-run has its own record (and index)
    assert (rerun_record / "provenance.json").exists()


def test_outputs_embedded_after_the_run_still_compare_equal(tmp_path):
    record(tmp_path)
    assert autoprov(tmp_path, "embed", "--store", ".prov").returncode == 0  # table.fits now has a PROVENANCE HDU
    done = autoprov(tmp_path, "rerun", "--store", ".prov", "--into", str(tmp_path / "again"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert table(done.stdout)["out/table.fits"][0] == "same"


def test_unseeded_randomness_is_reported_per_output(tmp_path):
    record(tmp_path, "--random")
    done = autoprov(tmp_path, "rerun", "--store", ".prov")  # into a new temporary directory, kept
    scratch = Path(re.search(r"outputs in (\S+)/work", done.stderr).group(1))
    assert scratch.parent == Path(tempfile.gettempdir()) and scratch.name.startswith("autoprov-rerun-")
    shutil.rmtree(scratch)
    assert done.returncode == 1
    rows = table(done.stdout)
    assert rows["out/random.json"][0] == "differs" and rows["out/random.json"][1].startswith("JSON differs at x: ")
    assert rows["out/random.fits"][0] == "differs" and "PRIMARY: 64 pixels differ" in rows["out/random.fits"][1]
    assert all(rows[name][0] == "same" for name in ("out/constant.txt", "out/result.json", "out/summary.yaml", "out/table.fits"))
    assert "2 of 6 outputs differ" in done.stderr


def test_numeric_tolerance(tmp_path):
    record(tmp_path, "--noise", "1e-9")
    done = autoprov(tmp_path, "rerun", "--store", ".prov", "--into", str(tmp_path / "exact"))
    assert done.returncode == 1 and table(done.stdout)["out/result.json"][1].startswith("JSON differs at value: ")
    done = autoprov(tmp_path, "rerun", "--store", ".prov", "--rtol", "1e-6", "--into", str(tmp_path / "close"))
    assert done.returncode == 0, done.stdout + done.stderr


def test_changed_inputs_refuse_unless_forced(tmp_path):
    record(tmp_path)
    (tmp_path / "in.txt").write_text("8\n")
    done = autoprov(tmp_path, "rerun", "--store", ".prov", "--into", str(tmp_path / "refused"))
    assert done.returncode == 2 and "[AP004]" in done.stderr and "--force" in done.stderr
    assert done.stdout.splitlines()[1].split()[:3] == ["changed", "input", "in.txt"]
    assert not (tmp_path / "refused").exists()  # refused before anything ran
    done = autoprov(tmp_path, "rerun", "--store", ".prov", "--force", "--into", str(tmp_path / "forced"))
    assert done.returncode == 1
    rows = table(done.stdout.split("\n", 2)[2])  # after the table of changed inputs
    assert rows["out/constant.txt"][0] == "differs" and rows["out/table.fits"][1].startswith("FITS differs: ")


def test_refused_before_running(tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    record(tmp_path / "cwd", "--also", str(outside / "extra.txt"))
    done = autoprov(tmp_path / "cwd", "rerun", "--store", ".prov")
    assert done.returncode == 2 and "wrote outside its working directory" in done.stderr and "extra.txt" in done.stderr
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("")
    done = autoprov(tmp_path / "cwd", "rerun", "--store", ".prov", "--into", str(tmp_path / "busy"))
    assert done.returncode == 2 and "not empty" in done.stderr


def test_the_guard_stops_writes_to_the_original_files(tmp_path):
    """A path the mirror cannot redirect (here from the environment) must not overwrite the original."""
    target = tmp_path / "out" / "extra.txt"
    record(tmp_path, env={"TOY_ALSO": str(target)}, script=str(write_env_toy(tmp_path)))
    original = target.read_bytes()
    done = autoprov(tmp_path, "rerun", "--store", ".prov", "--into", str(tmp_path / "scratch"), env={"TOY_ALSO": str(target)})
    assert done.returncode == 1
    assert "PermissionError" in done.stderr and "refusing to change a file of the original run" in done.stderr
    assert target.read_bytes() == original


def write_env_toy(tmp_path: Path) -> Path:
    script = tmp_path / "env_toy.py"
    script.write_text("import os\nos.makedirs('out', exist_ok=True)\nopen(os.environ['TOY_ALSO'], 'w').write('x')\n")
    return script


def test_guard_hook_in_process(tmp_path):
    from autoprov.reproduce.guard import Guard

    (tmp_path / "original").mkdir()
    (tmp_path / "scratch").mkdir()
    os.symlink(tmp_path / "original", tmp_path / "scratch" / "link")
    guard = Guard([str(tmp_path / "data.fits")], [str(tmp_path / "original")], [str(tmp_path / "scratch")])
    guard("open", (str(tmp_path / "scratch" / "new.txt"), "w", os.O_WRONLY | os.O_CREAT))
    guard("open", (str(tmp_path / "original" / "input.txt"), "r", os.O_RDONLY))  # reading is fine
    for event, args in [
        ("open", (str(tmp_path / "scratch" / "link" / "x"), "w", os.O_WRONLY | os.O_CREAT)),  # through a link
        ("open", (str(tmp_path / "data.fits"), "r+", os.O_RDWR)),
        ("os.rename", (str(tmp_path / "scratch" / "a"), str(tmp_path / "original" / "b"), None, None)),
        ("os.remove", (str(tmp_path / "data.fits"), None)),
    ]:
        with pytest.raises(PermissionError):
            guard(event, args)
    guard("builtins.id", (1,))  # unwatched events pass untouched


def test_compare_rules(tmp_path):
    from autoprov.reproduce.compare import Tolerance, compare

    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text("metadata: {date: '2020-01-01'}\nchecksum: abc\nvalues: [1, 2.0]\npath: /orig/x\n")
    b.write_text("metadata: {date: '2024-05-05'}\nchecksum: def\nvalues: [1, 2.0000001]\npath: /scratch/x\n")
    assert not compare(a, b).same
    assert compare(a, b, Tolerance(rtol=1e-6), ("/scratch", "/orig")) == (True, "YAML: equal after parsing, apart from checksum (MD5 over the text, date included), metadata.date")
    a.write_text("x 1.0 y\n")
    b.write_text("x 1.00 y\n")
    assert compare(a.rename(tmp_path / "a.txt"), b.rename(tmp_path / "b.txt")).same
    (tmp_path / "c.bin").write_bytes(b"\0\1")
    (tmp_path / "d.bin").write_bytes(b"\0\2")
    assert compare(tmp_path / "c.bin", tmp_path / "d.bin") == (False, "bytes differ (2 vs 2 bytes)")
    assert compare(tmp_path / "c.bin", tmp_path / "missing") == (False, "missing: the re-run did not write it")


def test_compare_sniffs_gammapy_yaml_whatever_its_name(tmp_path):
    """gammapy's own writer, twice: a YAML index named ``*.fits.gz``, its ``metadata`` block and the
    ``checksum`` computed over the date.  Only the stamps differ: same, and the "how" names them."""
    from gammapy.utils.scripts import to_yaml, write_yaml

    from autoprov.reproduce.compare import compare, sniff

    data = {"datasets": [{"name": "stacked", "type": "SpectrumDatasetOnOff", "filename": "pha_obsstacked.fits"}]}
    a, b = tmp_path / "a-datasets.fits.gz", tmp_path / "b-datasets.fits.gz"
    write_yaml(to_yaml(data), a, checksum=True)
    text = to_yaml(data).replace("date: '", "date: '1999", 1)  # another write time
    write_yaml(text.replace("creator: Gammapy", "creator: Gammapy 9.9 was"), b, checksum=True)
    assert sniff(a) == "YAML" and a.read_text() != b.read_text()
    assert compare(a, b) == (True, "YAML: equal after parsing, apart from checksum (MD5 over the text, date included), "
                                   "metadata.creator, metadata.date")
    # the re-made checksum no longer matches its text (the file was edited after gammapy wrote it)
    b.write_text(b.read_text().replace("name: stacked", "name: stacked "))
    assert compare(a, b) == (False, "YAML: the re-made checksum does not match its own text (the original's does)")
    write_yaml(to_yaml({**data, "extra": 1}), b, checksum=True, overwrite=True)
    assert compare(a, b) == (False, "YAML differs at extra (only in the re-run)")


def test_compare_sniffs_gzip_and_json_whatever_their_names(tmp_path):
    import gzip as gz

    from autoprov.reproduce.compare import compare, sniff

    a, b = tmp_path / "a.dat", tmp_path / "b.dat"
    a.write_bytes(gz.compress(b'{"value": 1.0, "date": "2020"}', mtime=1))
    b.write_bytes(gz.compress(b'{"date": "2024", "value": 1.0}', mtime=2))
    assert sniff(a) == "gzipped JSON"
    assert compare(a, b) == (True, "gzipped JSON: equal after parsing, apart from date")
    b.write_bytes(gz.compress(b'{"value": 1.0, "date": "2020"}', mtime=2))  # only the gzip header differs
    assert compare(a, b) == (True, "gzipped identical bytes once unpacked (the gzip headers differ)")
    b.write_bytes(gz.compress(b'{"value": 2.0, "date": "2020"}'))
    assert compare(a, b) == (False, "gzipped JSON differs at value: 1.0 vs 2.0")
    a.write_text("energy 1.0 TeV\n")
    assert sniff(a) == "text"
