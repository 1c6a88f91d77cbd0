"""A value known to be secret is scrubbed from every string of the run (issue 20, docs/secrets.md).

``fails(secret_value)`` redacts its parameter by name; the same value then comes back in the
activity's exception message, in a parameter under an innocent name, in an object's repr, on a
command line, and is handed to a second run as input.  A secret environment variable's value
(``API_TOKEN``) is known from the start.  Every file of the run folders and the index database
must be free of both values.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import environment

SECRET = "Hunter2Secret"
ENV_SECRET = "EnvTok3nValue99"
PROGRAM = f'''
import os
import subprocess


class Holder:
    def __init__(self, text):
        self.text = text

    def __repr__(self):
        return f"Holder({{self.text}})"


def fails(secret_value):
    raise ValueError(f"login failed with {{secret_value}}")


def show(value):
    return str(value)


def reject(note):
    raise RuntimeError(note)


try:
    fails("{SECRET}")
except ValueError as error:
    print("caught", type(error).__name__)
show("again {SECRET}")  # an innocent name, the known value
show(Holder("{SECRET}"))  # a repr
subprocess.run(["echo", "{SECRET}"], stdout=subprocess.DEVNULL, check=True)  # a command line
show(os.environ["API_TOKEN"])  # an environment value, known from the start
try:
    reject("token " + os.environ["API_TOKEN"] + " rejected")
except RuntimeError:
    pass
'''


def test_a_known_secret_is_in_no_file_of_the_run_nor_in_the_index(tmp_path: Path) -> None:
    (tmp_path / "prog.py").write_text(PROGRAM)
    done = subprocess.run([sys.executable, "-m", "autoprov", "--store", ".prov", "--match", "__main__:*", "--export", "sync", "prog.py"],
                          cwd=tmp_path, capture_output=True, text=True, env=environment({"API_TOKEN": ENV_SECRET}), timeout=300)
    assert done.returncode == 0 and "caught ValueError" in done.stdout, done.stderr
    listed = subprocess.run([sys.executable, "-m", "autoprov", "list", "--store", ".prov", "--format", "json"], cwd=tmp_path,
                            capture_output=True, text=True, env=environment(), timeout=300)
    assert listed.returncode == 0, listed.stderr
    files = [path for path in (tmp_path / ".prov").rglob("*") if path.is_file()]
    assert any(path.name == "index.sqlite" for path in files) and any(path.name == "report.html" for path in files)
    log = [event for line in next(path for path in files if path.name == "events.jsonl").read_text().splitlines()
           for event in json.loads(line)]
    errors = [event[4] for event in log if event[0] == "end" and event[3] == "failed"]
    assert errors == ["ValueError: login failed with <redacted>", "RuntimeError: token <redacted> rejected"]  # kept, scrubbed
    params = [event[7] for event in log if event[0] == "act"]
    assert {"value": "again <redacted>"} in params and {"value": "<redacted>"} in params
    assert ["echo", "<redacted>"] in [item.get("argv") for item in params]
    for path in files:
        content = path.read_bytes()
        assert SECRET.encode() not in content, path
        assert ENV_SECRET.encode() not in content, path
