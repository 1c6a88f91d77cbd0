"""``autoprov export RUN --format rocrate``: processes, pool tasks, commands and in-place updates.

A small program (no gammapy) runs a pool of two workers over four tasks, a command, and appends
to a file it found: the crate must hold one action per child process, per pool task and per
command, an ``UpdateAction`` for the appended file, the parameters as ``PropertyValue``s, and say
which file it could not vouch for.  The real analysis is checked in ``test_share_gammapy.py``.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import environment

pytest.importorskip("rocrate", reason="the rocrate extra is installed in the main (3.12) venv only (Makefile EXTRAS)")
from rocrate.rocrate import ROCrate  # noqa: E402

from rocrate_offline import valid, validate  # noqa: E402

PROGRAM = '''
import multiprocessing, subprocess, sys
from toy.core import leaf
from toy.io import read_text, write_text

def work(i):
    write_text(f"out{i}.txt", str(leaf(i)))
    return read_text(f"out{i}.txt")

if __name__ == "__main__":
    with multiprocessing.get_context("fork").Pool(2) as pool:
        print(pool.map(work, range(4)))
    subprocess.run(["true"], check=True)
    with open("log.txt", "a") as log:   # found by the run, changed in place
        log.write("one more line\\n")
'''


def autoprov(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autoprov", *args], cwd=cwd, capture_output=True, text=True, env=environment(), timeout=300)


def many(value) -> list:
    """A property's values as a list (RO-Crate 1.1 writes one value alone)."""
    return value if isinstance(value, list) else [value]


def test_crate_of_a_run_with_pool_tasks_commands_and_an_update(tmp_path: Path) -> None:
    (tmp_path / "program.py").write_text(textwrap.dedent(PROGRAM))
    (tmp_path / "log.txt").write_text("first line\n")
    done = autoprov(tmp_path, "--store", "store", "--quiet", "--filter", "none", "--match", "toy.*:*", "--export", "sync",
                    "--format", "json", "--graph", "none", "program.py", "four")
    assert done.returncode == 0, done.stderr
    os.remove(tmp_path / "out3.txt")  # gone since the run: described, not copied
    done = autoprov(tmp_path, "export", "--store", "store", "--format", "rocrate", "-o", "crate")
    assert done.returncode == 0 and done.stdout.strip() == "crate", done.stderr
    assert f"{tmp_path / 'out3.txt'}: not copied into the crate: the file is gone since the run" in done.stderr

    checked = validate(tmp_path / "crate", tmp_path)
    assert valid(checked), checked.stdout[-4000:] + checked.stderr[-2000:]
    crate = ROCrate(tmp_path / "crate")
    actions = crate.root_dataset["mentions"]
    run = crate.get("#run")
    assert run in actions and run["instrument"].id == "program.py"
    assert {(p["name"], p["value"]) for p in many(run["object"]) if p.type == "PropertyValue"} == {("argv[1]", "four")}
    workers = [a for a in actions if a["name"] == "process"]
    assert 1 <= len(workers) <= 2 and all(a["instrument"]["name"] == "python" for a in workers)
    tasks = [a for a in actions if a["name"] == "task"]
    assert len(tasks) == 4 and all(a["description"].startswith("Pool task") for a in tasks)
    assert all({p["name"]: p["value"] for p in many(a["object"])} == {"function": "__main__.work"} for a in tasks)
    (command,) = [a for a in actions if a["name"] == "command"]
    assert command["instrument"]["name"] == "true" and command["instrument"].id == "urn:autoprov:program:true" and command["actionStatus"] == "http://schema.org/CompletedActionStatus"
    # the top-level calls inside the tasks are actions too, with the files they wrote
    writers = [a for a in actions if a["name"] == "toy.io.write_text"]
    assert sorted(a["result"]["alternateName"] for a in writers) == [str(tmp_path / f"out{i}.txt") for i in range(4)]
    # the appended file: an UpdateAction of the run, the file as the run left it
    (update,) = [a for a in actions if a.type == "UpdateAction"]
    log = update["result"]
    assert log.id == "log.txt" and log["sha256"] == hashlib.sha256(b"first line\none more line\n").hexdigest()
    assert (tmp_path / "crate" / "log.txt").read_text() == "first line\none more line\n"
    gone = next(e for e in crate.data_entities if e.get("alternateName") == str(tmp_path / "out3.txt"))
    assert gone.id == (tmp_path / "out3.txt").as_uri() and "sha256" not in gone.properties()
    assert gone["description"] == "Not in the crate, and no sha256: the file is gone since the run"
    assert not (tmp_path / "crate" / "out3.txt").exists()
