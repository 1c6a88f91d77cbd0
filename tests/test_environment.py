"""The execution environment collected at stop: ctapipe's fields and more, redaction, git state."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import xxhash

from autoprov import environment


def test_collect_has_every_ctapipe_field_and_more():
    env = environment.collect()
    for key in ("machine", "node", "system", "release", "libc", "n_cpus", "boot_time", "total_memory"):
        assert key in env["platform"], key
    assert env["platform"]["n_cpus"] == os.cpu_count()
    python = env["python"]
    assert python["executable"] == sys.executable and python["version"] == ".".join(map(str, sys.version_info[:3]))
    assert python["implementation"] and python["compiler"]
    assert env["argv"] == sys.argv and env["cwd"] == os.getcwd() and env["hostname"] and env["user"]
    assert "xxhash" in env["packages"] and env["packages"]["xxhash"] == xxhash.VERSION


def test_environment_variables_allow_list_and_redaction():
    chosen = environment.environment_variables({
        "PATH": "/bin", "GAMMAPY_DATA": "/data", "AUTOPROV_TOKEN": "s3cret", "CONDA_API_KEY": "k",
        "AWS_SECRET_ACCESS_KEY": "no", "RANDOM": "no", "PYTHONPATH": "https://user:pw@host/x",
    })
    assert chosen == {
        "PATH": "/bin", "GAMMAPY_DATA": "/data", "AUTOPROV_TOKEN": "<redacted>", "CONDA_API_KEY": "<redacted>",
        "PYTHONPATH": "https://user:<redacted>@host/x",  # the user name is not the secret
    }


def test_script_digest(tmp_path):
    script = tmp_path / "a.py"
    script.write_text("print(1)\n")
    info = environment.script_info(str(script), "xxh3_128")
    assert info["digest"] == xxhash.xxh3_128(script.read_bytes()).hexdigest() and info["size"] == 9


def test_git_state_commit_and_dirty(tmp_path):
    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True,
                       env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"})

    git("init", "-q")
    (tmp_path / "a.py").write_text("x = 1\n")
    assert environment.git_state(str(tmp_path))["commit"] is None
    git("add", "a.py")
    git("commit", "-qm", "one")
    head = subprocess.run(["git", "-C", str(tmp_path), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    state = environment.git_state(str(tmp_path))
    assert state["commit"] == head and state["dirty"] is False and Path(state["root"]) == tmp_path.resolve()
    (tmp_path / "a.py").write_text("x = 2\n")
    assert environment.git_state(str(tmp_path))["dirty"] is True


def test_git_absent_or_no_repository(tmp_path, monkeypatch):
    assert environment.git_state(str(tmp_path)) is None  # not a repository (tmp is outside any)
    monkeypatch.setenv("PATH", str(tmp_path))  # no git program at all
    assert environment.git_state(str(tmp_path)) == {"error": "git is not installed"}


def test_a_failing_part_does_not_lose_the_others(monkeypatch):
    monkeypatch.setattr(environment, "platform_info", lambda: 1 / 0)
    env = environment.collect()
    assert env["platform"] == {"error": "ZeroDivisionError: division by zero"}
    assert env["python"]["version"]
