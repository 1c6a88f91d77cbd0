"""Every front end and every child build the capture of their process with the same builder (issue 24).

``autoprov.session.process.ProcessCapture`` is patched once, by a ``sitecustomize`` module on the
path of every process of the test, to note the process it builds in; then ``autoprov.capture()`` in a
script, ``python -m autoprov`` and a multiprocessing worker of that run each must have noted theirs.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from autoprov.export.model import load
from conftest import TOYPKG, environment

PATCH = '''
import os

if os.environ.get("BUILDER_LOG"):
    from autoprov.session import process

    real = process.ProcessCapture.__init__

    def noting(self, *args, **kwargs):
        real(self, *args, **kwargs)
        with open(os.environ["BUILDER_LOG"], "a") as log:
            log.write(f"{os.getpid()}\\n")

    process.ProcessCapture.__init__ = noting
'''

LIBRARY = '''
import os
import autoprov
from toy.core import leaf

with autoprov.capture(match=["toy.*:*"], store="store", quiet=True) as capture:
    leaf(1)
print("library", os.getpid(), capture.finished.path.name)
'''

POOL = '''
import multiprocessing
import os
from toy.core import leaf

if __name__ == "__main__":
    worker = multiprocessing.Process(target=leaf, args=(2,))
    worker.start()
    worker.join()
    print("cli", os.getpid())
    print("worker", worker.pid)
'''


def test_library_cli_and_worker_use_one_builder(tmp_path: Path) -> None:
    (tmp_path / "hook").mkdir()
    (tmp_path / "hook" / "sitecustomize.py").write_text(PATCH)
    (tmp_path / "library.py").write_text(LIBRARY)
    (tmp_path / "pool.py").write_text(POOL)
    log = tmp_path / "built.txt"
    env = environment({"BUILDER_LOG": str(log), "PYTHONPATH": f"{tmp_path / 'hook'}:{TOYPKG}"})
    pids = {}
    for command in (["library.py"], ["-m", "autoprov", "--store", "store", "--quiet", "--match", "toy.*:*", "pool.py"]):
        done = subprocess.run([sys.executable, *command], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300)
        assert done.returncode == 0, done.stderr
        pids.update((line.split()[0], line.split()[1:]) for line in done.stdout.splitlines())
    built = log.read_text().split()
    assert sorted(built) == sorted([pids["library"][0], pids["cli"][0], pids["worker"][0]])
    # and what they built recorded: the library's call, the worker's call in the run of the CLI
    library = load(tmp_path / "store" / pids["library"][1])
    assert [a.name for a in library.activities.values()] == ["toy.core.leaf"]
    assert library.info["filters"] == ["gammapy", "--match toy.*:*"]  # the CLI's default filter too (gammapy is installed)
    (cli_run,) = [p for p in (tmp_path / "store").iterdir() if p.is_dir() and p.name != pids["library"][1]]
    assert "toy.core.leaf" in [a.name for a in load(cli_run).activities.values()]
