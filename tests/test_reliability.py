"""Never break, slow or alter the analysis; never lose the record (docs/reliability.md)."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from autoprov.log.reader import read_events
from conftest import environment, run_autoprov, run_plain

MATCH = ["--match", "toy.*:*"]


def autoprov_command(store: Path, *args: str, engine: str = "auto") -> list[str]:
    return [sys.executable, "-m", "autoprov", "--engine", engine, "--store", str(store), "--quiet", *MATCH, *args]


def autoprov_list(store: Path) -> list[list[str]]:
    done = subprocess.run([sys.executable, "-m", "autoprov", "list", "--store", str(store)], capture_output=True, text=True, env=environment())
    assert done.returncode == 0, done.stderr
    return [line.split() for line in done.stdout.splitlines()]


def start_and_wait_for(command: list[str], cwd: Path, marker: str) -> subprocess.Popen:
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment())
    assert process.stdout is not None
    line = process.stdout.readline()
    assert marker in line, process.stderr.read() if process.stderr else line
    return process


SLEEPER = "from toy.core import outer\nimport time\nfor i in range(5):\n    outer(i)\nprint('ready', flush=True)\ntime.sleep(60)\n"


def test_sigterm_completes_the_record_then_dies_of_sigterm(tmp_path: Path, engine: str) -> None:
    (tmp_path / "sleeper.py").write_text(SLEEPER)
    store = tmp_path / "store"
    process = start_and_wait_for(autoprov_command(store, "sleeper.py", engine=engine), tmp_path, "ready")
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == -signal.SIGTERM  # as python: 143 in a shell
    (run,) = [p for p in store.iterdir() if p.is_dir()]
    events = list(read_events(run))
    assert events[-1][0] == "exit" and events[-1][2] == "interrupted"
    assert sum(1 for e in events if e[0] == "act") == 15  # 5 outer + 10 leaf
    assert autoprov_list(store)[0][1] == "interrupted"


def test_sigkill_leaves_a_readable_incomplete_log(tmp_path: Path, engine: str) -> None:
    (tmp_path / "sleeper.py").write_text(SLEEPER)
    store = tmp_path / "store"
    process = start_and_wait_for(autoprov_command(store, "sleeper.py", engine=engine), tmp_path, "ready")
    time.sleep(1.5)  # the log is flushed at least every 0.5 s
    process.kill()
    process.wait(timeout=30)
    # a killed run cannot move itself into its store: listing the store adopts it
    assert autoprov_list(store)[0][1] == "incomplete"
    (run,) = [p for p in store.iterdir() if p.is_dir()]
    events = list(read_events(run))
    assert not [e for e in events if e[0] == "exit"]
    assert sum(1 for e in events if e[0] == "act") == 15  # nothing older than a second is lost


def test_os_exit_keeps_the_status_and_the_flushed_events(tmp_path: Path) -> None:
    (tmp_path / "quit.py").write_text("import os, time\nfrom toy.core import outer\nouter(1)\ntime.sleep(1.2)\nos._exit(7)\n")
    store = tmp_path / "store"
    done = subprocess.run(autoprov_command(store, "quit.py"), cwd=tmp_path, capture_output=True, text=True, env=environment())
    assert done.returncode == 7
    assert autoprov_list(store)[0][1] == "incomplete"  # adopted into the store by the listing
    (run,) = [p for p in store.iterdir() if p.is_dir()]
    assert sum(1 for e in read_events(run) if e[0] == "act") == 3


def test_forked_child_does_not_touch_the_parents_record(tmp_path: Path, engine: str) -> None:
    (tmp_path / "forks.py").write_text(
        "import os\nfrom toy.core import outer\nouter(1)\npid = os.fork()\n"
        "if pid == 0:\n    outer(2)\n    print('child', flush=True)\n    raise SystemExit(0)\n"
        "os.waitpid(pid, 0)\nouter(3)\nprint('parent', flush=True)\n"
    )
    result = run_autoprov(["forks.py"], tmp_path, engine=engine, options=MATCH)
    assert result.returncode == 0, result.stderr
    assert sorted(result.stdout.split()) == ["child", "parent"]
    outers = [a["params"]["x"] for a in result.activities().values() if a["name"].endswith("outer")]
    assert outers == [1, 3]
    assert len(result.of_kind("exit")) == 1 and result.of_kind("exit")[0][2] == "completed"


FORKS_THEN_WORKS = (
    "import os, time\nfrom toy.core import outer\npid = os.fork()\nif pid == 0:\n    os._exit(0)\n"
    "os.waitpid(pid, 0)\nfor i in range(5):\n    outer(i)\nprint('ready', flush=True)\ntime.sleep(60)\n"
)


def test_the_log_is_written_again_after_a_fork(tmp_path: Path, engine: str) -> None:
    """The log's thread, stopped around ``os.fork()`` (from 3.13 on restarted only once the call has
    returned: autoprov/log/soon.py), runs again in the parent: a run killed later keeps its events."""
    (tmp_path / "forks.py").write_text(FORKS_THEN_WORKS)
    store = tmp_path / "store"
    store.mkdir()  # an existing store holds the live run folder from the start
    process = start_and_wait_for(autoprov_command(store, "forks.py", engine=engine), tmp_path, "ready")
    try:
        (run,) = [p for p in store.iterdir() if p.is_dir()]
        deadline = time.monotonic() + 10  # the thread writes every 0.5 s: wait for its write
        while sum(1 for e in read_events(run) if e[0] == "act") < 15 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        process.kill()
        process.wait(timeout=30)
    assert sum(1 for e in read_events(run) if e[0] == "act") == 15  # 5 outer + 10 leaf, after the fork


@pytest.mark.parametrize("component", ["enter", "leave", "plan", "audit", "hash", "log", "export"])
def test_internal_faults_never_reach_the_program(tmp_path: Path, engine: str, component: str) -> None:
    (tmp_path / "main.py").write_text(
        "from toy.core import outer\nfrom toy.io import write_text, read_text\n"
        "write_text('a.txt', 'alpha')\nprint(outer(2), read_text('a.txt'))\n"
    )
    plain = run_plain(["main.py"], tmp_path)
    faulty = run_autoprov(["main.py"], tmp_path, engine=engine, options=["--match", "toy.*:*"], env={"AUTOPROV_FAULT": component})
    assert faulty.returncode == plain.returncode == 0
    assert faulty.stdout == plain.stdout
    assert (tmp_path / "a.txt").read_text() == "alpha"
    warnings = [line for line in faulty.stderr.splitlines() if line.startswith("autoprov:")]
    assert len(warnings) == 1 and "injected fault" in warnings[0], faulty.stderr


HOSTILE = '''
import numpy as np
from toy.core import keep

class Hostile:
    def __repr__(self): raise RuntimeError("repr")
    def __eq__(self, other): raise RuntimeError("eq")
    def __hash__(self): raise RuntimeError("hash")
    def __len__(self): raise RuntimeError("len")
    def __mul__(self, other): return self

class Slow:
    def __repr__(self):
        import time; time.sleep(30)
        return "slow"
    def __mul__(self, other): return self

class NoWeakref:
    __slots__ = ("v",)
    def __mul__(self, other): return self

recursive = [1]
recursive.append(recursive)
nested = {"a": {"b": {"c": {"d": {"e": 1}}}}}
for value in (Hostile(), Slow(), NoWeakref(), recursive, nested, np.zeros((2000, 2000)), float("nan"), "x" * 100000, b"bytes"):
    keep(value)
print("ok")
'''


def test_hostile_arguments_are_described_safely(tmp_path: Path, engine: str) -> None:
    (tmp_path / "hostile.py").write_text(HOSTILE)
    started = time.monotonic()
    result = run_autoprov(["hostile.py"], tmp_path, engine=engine, options=MATCH)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ok\n" and result.stderr == ""
    assert time.monotonic() - started < 25  # the slow __repr__ was never called
    leaves = [a for a in result.activities().values() if a["name"].endswith("keep")]
    assert len(leaves) == 9 and all(a["status"] == "completed" for a in leaves)
    assert all(a["params"]["label"] == "kept" for a in leaves)
    objects = {e[1]: e[2] for e in result.of_kind("obj")}
    entities = {e[1]: objects[e[3]] for e in result.of_kind("use") if e[2] == "value"}
    described = [a["params"].get("value", entities.get(act)) for act, a in result.activities().items()]
    assert described[0]["type"] == "__main__.Hostile" and described[0]["repr"] == "<__main__.Hostile>"
    assert described[1]["repr"] == "<__main__.Slow>"
    assert described[5]["shape"] == [2000, 2000] and described[5]["dtype"] == "float64" and described[5]["xxh3_64"]
    assert described[6] == "nan" and len(described[7]) <= 300


@pytest.mark.parametrize("problem", ["store_is_a_file", "store_read_only"])
def test_unusable_store_degrades_to_a_warning(tmp_path: Path, problem: str) -> None:
    (tmp_path / "main.py").write_text("print('analysis ran')\n")
    store = tmp_path / "store"
    if problem == "store_is_a_file":
        store.write_text("not a directory")
    else:
        store.mkdir()
        store.chmod(0o500)
    if problem == "store_read_only" and os.geteuid() == 0:
        # root ignores permission bits: make the store unusable through a file in its place instead
        store.chmod(0o700)
        store.rmdir()
        store.write_text("")
    done = subprocess.run(autoprov_command(store, "main.py"), cwd=tmp_path, capture_output=True, text=True, env=environment())
    assert done.returncode == 0 and done.stdout == "analysis ran\n"
    assert done.stderr.count("\n") == 1 and "capture disabled" in done.stderr and "[AP003]" in done.stderr


def test_full_disk_loses_events_not_the_analysis(tmp_path: Path) -> None:
    if not Path("/dev/full").exists():
        pytest.fail("/dev/full is needed to simulate a full disk")
    (tmp_path / "main.py").write_text("from toy.core import outer\nprint(sum(outer(i) for i in range(100)))\n")
    plain = run_plain(["main.py"], tmp_path)
    store = tmp_path / "store"
    store.mkdir()
    command = autoprov_command(store, "main.py")
    # every run folder's log is a link to /dev/full: writes fail with ENOSPC
    code = (
        "import os, autoprov.log.writer as log\n"
        "real = log.EventLog.__init__\n"
        "def init(self, run_dir, *a, **k):\n"
        "    os.symlink('/dev/full', os.path.join(run_dir, 'events.jsonl'))\n"
        "    real(self, run_dir, *a, **k)\n"
        "log.EventLog.__init__ = init\n"
        "import sys\nfrom autoprov.cli import main\nsys.argv = ['autoprov'] + sys.argv[1:]\nsys.exit(main())\n"
    )
    done = subprocess.run([sys.executable, "-c", code, *command[3:]], cwd=tmp_path, capture_output=True, text=True, env=environment())
    assert done.returncode == 0 and done.stdout == plain.stdout
    assert "cannot write the event log" in done.stderr


def test_non_utf8_and_space_paths_round_trip(tmp_path: Path, engine: str) -> None:
    (tmp_path / "main.py").write_text(
        "import os\nfrom toy.io import write_text\n"
        "name = os.fsdecode(b'caf\\xe9 data.txt')\nwrite_text(name, 'x')\nprint('ok')\n"
    )
    result = run_autoprov(["main.py"], tmp_path, engine=engine, options=MATCH)
    assert result.returncode == 0, result.stderr
    (event,) = [e for e in result.of_kind("file") if e[2] != "import"]  # not the toy modules
    assert os.fsencode(event[3]) == os.fsencode(str(tmp_path)) + b"/caf\xe9 data.txt"
    (digest,) = [e for e in result.of_kind("digest") if e[1] == event[3]]
    assert digest[4] is not None


def test_eight_concurrent_runs_into_one_store(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text("import sys\nfrom toy.core import outer\nfor i in range(50):\n    outer(i)\nprint(sys.argv[1])\n")
    store = tmp_path / "store"

    def run(n: int) -> subprocess.CompletedProcess:
        return subprocess.run(autoprov_command(store, "main.py", str(n)), cwd=tmp_path, capture_output=True, text=True, env=environment())

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(run, range(8)))
    assert [r.returncode for r in results] == [0] * 8
    runs = sorted(p for p in store.iterdir() if p.is_dir())
    assert len(runs) == 8
    seen_args = set()
    for run_dir in runs:
        events = list(read_events(run_dir))
        assert events[0][0] == "run" and events[-1][0] == "exit" and events[-1][2] == "completed"
        assert sum(1 for e in events if e[0] == "act") == 150
        seen_args.add(events[0][3]["program_args"][0])
    assert seen_args == {str(n) for n in range(8)}


def test_secrets_are_redacted_and_store_files_are_private(tmp_path: Path) -> None:
    (tmp_path / "secret.py").write_text(
        "def login(user, password, api_key=None, token_file=None):\n    return user\n"
        "login('astro', 'hunter2', api_key='K-123', token_file='t.txt')\n"
    )
    result = run_autoprov(["secret.py"], tmp_path, options=["--match", "__main__:login"], env={"AUTOPROV_REDACT": "user"})
    assert result.returncode == 0, result.stderr
    (act,) = result.activities().values()
    assert act["params"] == {"user": "<redacted>", "password": "<redacted>", "api_key": "<redacted>", "token_file": "<redacted>"}
    for path in result.store.rglob("*"):
        assert "hunter2" not in (path.read_text(errors="replace") if path.is_file() else "")
        assert not path.stat().st_mode & stat.S_IWOTH


def test_records_are_read_with_safe_parsers_only() -> None:
    package = Path(__file__).parent.parent / "autoprov"
    for source in package.rglob("*.py"):
        text = source.read_text()
        assert "pickle" not in text, source
        assert "yaml.load(" not in text and "yaml.unsafe_load" not in text and "yaml.Loader" not in text, source


def test_files_that_vanish_or_cannot_be_hashed(tmp_path: Path, engine: str) -> None:
    """A file deleted behind autoprov's back, a named pipe, an unreadable path: no hang, no error."""
    (tmp_path / "main.py").write_text(
        "import os, subprocess, threading\n"
        "from toy.io import write_text, read_text\n"
        "write_text('gone.txt', 'soon deleted')\n"
        "subprocess.run(['rm', 'gone.txt'], check=True)  # not seen by the audit hook\n"
        "os.mkfifo('pipe')\n"
        "threading.Thread(target=lambda: open('pipe', 'w').write('through the pipe')).start()\n"
        "print(read_text('pipe'))\n"
        "try:\n    read_text('/root-only/nothing/here.txt')\nexcept OSError as error:\n    print(type(error).__name__)\n"
    )
    plain_dir = tmp_path / "plain"
    plain_dir.mkdir()
    (plain_dir / "main.py").write_text((tmp_path / "main.py").read_text())
    plain = run_plain(["main.py"], plain_dir)
    started = time.monotonic()
    result = run_autoprov(["main.py"], tmp_path, engine=engine, options=MATCH)
    assert time.monotonic() - started < 60
    assert result.returncode == plain.returncode == 0, result.stderr
    assert result.stdout == plain.stdout == "through the pipe\nFileNotFoundError\n"
    assert result.stderr == ""
    digests = {e[1]: e[4] for e in result.of_kind("digest")}
    assert digests[str(tmp_path / "gone.txt")] is None
    assert digests[str(tmp_path / "pipe")] is None
    assert result.of_kind("exit")[0][2] == "completed"


def test_atomic_write_never_leaves_a_truncated_document(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A crash while a document is written leaves the previous complete one (or none), never a part."""
    from autoprov.store import atomic as store

    target = tmp_path / "provenance.json"
    store.atomic_write(target, '{"complete": 1}')

    def crash(*args: object) -> None:
        raise OSError("disk died during rename")

    monkeypatch.setattr(store.os, "replace", crash)
    with pytest.raises(OSError):
        store.atomic_write(target, '{"complete": 2, "much more": "' + "x" * 100000 + '"}')
    assert target.read_text() == '{"complete": 1}'
    assert [p.name for p in tmp_path.iterdir()] == ["provenance.json"]  # no temporary file left
