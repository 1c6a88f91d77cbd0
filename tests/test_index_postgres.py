"""The run index on a real PostgreSQL server (started by the tests on a loopback port).

Runs name the database with ``--store postgresql://...`` or ``$AUTOPROV_STORE``; their folders go to
the local folder (``.prov``, or ``$AUTOPROV_RUNS``).  The password must appear nowhere: not in the
run folder, not in any message.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import psycopg

from conftest import SCRIPTS, environment, run_plain
from pgserver import ROLE_PASSWORD, free_port

STEP = str(SCRIPTS / "index_step.py")
MATCH = ["--filter", "none", "--match", "__main__:*"]


def step(tmp_path: Path, *args: str, options: tuple[str, ...] = ("--export", "sync"), env: dict | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "autoprov", *MATCH, *options, STEP, *args]
    return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, env=environment(env), timeout=120)


def autoprov(tmp_path: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autoprov", *args], cwd=tmp_path, capture_output=True, text=True,
                          env=environment(env), timeout=120)


def rows(url: str, query: str) -> list[tuple]:
    with psycopg.connect(url) as connection:
        return connection.execute(query).fetchall()


def run_ids(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if (p / "events.jsonl").exists()) if folder.is_dir() else []


def assert_no_password(tmp_path: Path, *outputs: subprocess.CompletedProcess) -> None:
    for done in outputs:
        assert ROLE_PASSWORD not in done.stdout + done.stderr
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert ROLE_PASSWORD.encode() not in path.read_bytes(), path


def test_runs_index_into_postgresql_and_the_commands_query_it(tmp_path: Path, postgres_url: str) -> None:
    (tmp_path / "raw.txt").write_text("1\n")
    first = step(tmp_path, "raw.txt", "a.txt", options=("--store", postgres_url, "--export", "sync"))
    second = step(tmp_path, "a.txt", "b.txt", "--scale", "3", options=("--export", "sync"), env={"AUTOPROV_STORE": postgres_url})
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    local = tmp_path / ".prov"  # run folders still go to a local folder
    ids = run_ids(local)
    assert len(ids) == 2 and not (local / "index.sqlite").exists()
    assert [row[0] for row in rows(postgres_url, "SELECT run_id FROM run ORDER BY start_time")] == ids
    assert rows(postgres_url, "SELECT folder FROM run ORDER BY start_time")[0][0] == str(local / ids[0])
    listed = autoprov(tmp_path, "list", "--store", postgres_url, "--param", "scale=3.0")
    assert listed.returncode == 0 and listed.stdout.split()[0] == ids[1]
    lineage = autoprov(tmp_path, "lineage", "b.txt", env={"AUTOPROV_STORE": postgres_url})
    assert lineage.returncode == 0 and f"in run {ids[0]}" in lineage.stdout and "raw.txt" in lineage.stdout
    diff = autoprov(tmp_path, "diff", ids[0], ids[1], "--store", postgres_url)
    assert diff.returncode == 1 and "scale: 2.0 -> 3.0" in diff.stdout
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    moved = step(elsewhere, str(tmp_path / "b.txt"), "c.txt", options=("--export", "sync"),
                 env={"AUTOPROV_STORE": postgres_url, "AUTOPROV_RUNS": str(tmp_path / "runs2")})
    assert moved.returncode == 0 and len(run_ids(tmp_path / "runs2")) == 1
    assert len(rows(postgres_url, "SELECT run_id FROM run")) == 3  # one index, two folders
    removed = autoprov(tmp_path, "rm", ids[0], "--store", postgres_url)
    assert removed.returncode == 0 and run_ids(local) == [ids[1]]
    assert len(rows(postgres_url, f"SELECT * FROM activity WHERE run_id = '{ids[0]}'")) == 0
    assert_no_password(tmp_path, first, second, listed, lineage, diff, moved, removed)


def test_background_indexing_into_postgresql(tmp_path: Path, postgres_url: str) -> None:
    (tmp_path / "raw.txt").write_text("1\n")
    done = step(tmp_path, "raw.txt", "a.txt", options=("--store", postgres_url))  # default: background
    assert done.returncode == 0, done.stderr
    (run_id,) = run_ids(tmp_path / ".prov")
    deadline = time.monotonic() + 60

    def indexed() -> list[tuple]:
        try:
            return rows(postgres_url, "SELECT run_id FROM run")
        except psycopg.errors.UndefinedTable:  # the first indexer is creating the tables
            return []

    while not indexed():
        assert time.monotonic() < deadline, "the run was not indexed in 60 s"
        time.sleep(0.05)
    assert indexed() == [(run_id,)]
    assert_no_password(tmp_path, done)


def test_an_unavailable_server_gives_one_masked_line_and_index_catches_up(tmp_path: Path, postgres_url: str) -> None:
    (tmp_path / "raw.txt").write_text("1\n")
    plain = run_plain([STEP, "raw.txt", "a.txt"], cwd=tmp_path)
    wrong = postgres_url.replace(ROLE_PASSWORD, "not-the-password")
    down = f"postgresql://autoprov:{ROLE_PASSWORD}@127.0.0.1:{free_port()}/x"  # no server there
    outcomes = []
    for url, reason in ((wrong, "password authentication failed"), (down, "Connection refused")):
        done = step(tmp_path, "raw.txt", "a.txt", options=("--store", url, "--export", "sync"))
        assert (done.returncode, done.stdout) == (plain.returncode, plain.stdout)  # the run is unchanged
        notes = [line for line in done.stderr.splitlines() if "[AP006]" in line]
        assert len(notes) == 1 and reason in notes[0] and "postgresql://autoprov:<redacted>@127.0.0.1" in notes[0], done.stderr
        assert "not-the-password" not in done.stderr
        outcomes.append(done)
    background = step(tmp_path, "raw.txt", "a.txt", options=("--store", down))  # the detached indexer fails, silently
    assert (background.returncode, background.stdout) == (plain.returncode, plain.stdout)
    assert background.stderr.count("\n") == 1 and "activities" in background.stderr  # only the usual summary line
    outcomes.append(background)
    assert len(run_ids(tmp_path / ".prov")) == 3  # the folders are kept
    failing = autoprov(tmp_path, "list", "--store", down)
    assert failing.returncode == 2 and len(failing.stderr.splitlines()) == 1 and "[AP006]" in failing.stderr
    caught = autoprov(tmp_path, "index", "--store", postgres_url)
    assert caught.returncode == 0 and caught.stdout.splitlines()[-1].startswith("3 indexed, 0 unchanged"), caught.stderr
    assert sorted(row[0] for row in rows(postgres_url, "SELECT run_id FROM run")) == run_ids(tmp_path / ".prov")
    assert_no_password(tmp_path, *outcomes, failing, caught)


def test_sixteen_concurrent_runs_index_into_one_database(tmp_path: Path, postgres_url: str) -> None:
    (tmp_path / "raw.txt").write_text("1\n")
    commands = [[sys.executable, "-m", "autoprov", "--store", postgres_url, *MATCH, "--export", "sync", STEP, "raw.txt",
                 f"out{n}.txt", "--scale", str(n)] for n in range(16)]
    processes = [subprocess.Popen(c, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment())
                 for c in commands]
    for process in processes:
        _, stderr = process.communicate(timeout=600)
        assert process.returncode == 0 and "AP006" not in stderr, stderr
    ids = run_ids(tmp_path / ".prov")
    assert len(ids) == 16
    assert sorted(row[0] for row in rows(postgres_url, "SELECT run_id FROM run")) == ids
    assert rows(postgres_url, "SELECT count(*) FROM activity WHERE seq > 0") == [(16 * 3,)]
    scales = sorted(float(row[0]) for row in rows(postgres_url, "SELECT value FROM parameter WHERE name = 'scale'"))
    assert scales == [float(n) for n in range(16)]
    again = autoprov(tmp_path, "index", "--store", postgres_url)  # nothing lost, nothing to redo
    assert again.stdout.splitlines()[-1].startswith("0 indexed, 16 unchanged")
