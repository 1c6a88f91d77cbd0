"""Shared fixtures: run programs under plain python and under autoprov, read their events."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from autoprov.log.reader import read_events

TESTS = Path(__file__).parent
REPO = TESTS.parent
SCRIPTS = TESTS / "scripts"
TOYPKG = TESTS / "data" / "toypkg"
GAMMAPY_DATA = (REPO.parent / "shared" / "data" / "gammapy-data").resolve()
# Runs whose store does not exist yet are written here until they end (autoprov/store/live.py):
# a private folder for the test session, not the user's ~/.local/state.
STATE_HOME = Path(tempfile.mkdtemp(prefix="autoprov-test-state-"))
atexit.register(shutil.rmtree, STATE_HOME, True)
os.environ["XDG_STATE_HOME"] = str(STATE_HOME)  # and for what the tests call in-process
# 3.11: the frame-evaluation engine (native core only: it has no pure twin) beside the trace engines
ENGINES = ["monitoring", "settrace", "setprofile"] if sys.version_info >= (3, 12) else ["evalframe", "settrace", "setprofile"]
# Both cores (autoprov.engine.core) run the engine, file-event and runner tests: every test of
# these modules runs once with AUTOPROV_CORE=native and once with AUTOPROV_CORE=pure.
CORES = ["native", "pure"]
CORE_MODULES = {"test_engines", "test_files", "test_runner"}


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str
    store: Path
    events: list = field(default_factory=list)

    def of_kind(self, kind: str) -> list:
        return [e for e in self.events if e[0] == kind]

    def activities(self) -> dict[int, dict]:
        """act id -> {name, parent, params, status, error, thread}."""
        acts = {}
        for event in self.events:
            if event[0] == "act":
                acts[event[1]] = {"name": event[3], "parent": event[2], "params": event[7], "thread": event[6]}
            elif event[0] == "end":
                acts[event[1]].update(status=event[3], error=event[4])
        return acts


def environment(extra: dict | None = None) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(TOYPKG), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["GAMMAPY_DATA"] = str(GAMMAPY_DATA)
    env.pop("AUTOPROV_FILTERS", None)
    env["XDG_STATE_HOME"] = str(STATE_HOME)
    env.update(extra or {})
    return env


def run_plain(args: list[str], cwd: Path, stdin: str = "", env: dict | None = None, timeout: float = 600) -> Result:
    done = subprocess.run([sys.executable, *args], cwd=cwd, input=stdin, capture_output=True, text=True, env=environment(env), timeout=timeout)
    return Result(done.returncode, done.stdout, done.stderr, cwd)


def run_autoprov(
    args: list[str], cwd: Path, engine: str = "auto", options: list[str] | None = None, stdin: str = "",
    env: dict | None = None, timeout: float = 600, store: Path | None = None,
) -> Result:
    store = store or cwd / ".prov-test"
    command = [sys.executable, "-m", "autoprov", "--engine", engine, "--store", str(store), "--quiet", *(options or []), *args]
    done = subprocess.run(command, cwd=cwd, input=stdin, capture_output=True, text=True, env=environment(env), timeout=timeout)
    result = Result(done.returncode, done.stdout, done.stderr, store)
    runs = sorted(p for p in store.glob("*") if (p / "events.jsonl").exists()) if store.is_dir() else []
    if runs:
        result.events = list(read_events(runs[-1]))
    return result


def wait_for_outputs(run_dir: Path, names: tuple[str, ...], timeout: float = 120) -> None:
    """The slow documents are written by a detached exporter just after the run: wait for them."""
    import time

    deadline = time.monotonic() + timeout
    while not all((run_dir / name).exists() for name in names):
        if time.monotonic() > deadline:
            missing = [name for name in names if not (run_dir / name).exists()]
            raise AssertionError(f"background export did not write {missing} in {timeout} s")
        time.sleep(0.1)


@pytest.fixture(params=ENGINES)
def engine(request) -> str:
    return request.param


def pytest_generate_tests(metafunc) -> None:
    if Path(str(metafunc.definition.fspath)).stem in CORE_MODULES and "core" not in metafunc.fixturenames:
        metafunc.fixturenames.append("core")
    if "core" in metafunc.fixturenames:
        metafunc.parametrize("core", CORES, indirect=True)


def pytest_collection_modifyitems(config, items) -> None:
    """The frame-evaluation engine has no pure twin (``--engine evalframe`` with the pure core is a
    usage error, tested as such): its tests run on the native core only."""
    pure_evalframe = [item for item in items if getattr(item, "callspec", None) is not None
                      and item.callspec.params.get("engine") == "evalframe" and item.callspec.params.get("core") == "pure"]
    if pure_evalframe:
        config.hook.pytest_deselected(items=pure_evalframe)
        items[:] = [item for item in items if item not in pure_evalframe]


@pytest.fixture(autouse=True)
def _core_under_test(request, monkeypatch) -> None:
    """A test parametrized over the cores exports its core as AUTOPROV_CORE, to in-process
    captures and subprocesses.  Autouse: the modules of CORE_MODULES get the parameter without
    naming the fixture, and a fixture only they are parametrized with would never run."""
    callspec = getattr(request.node, "callspec", None)
    core = callspec.params.get("core") if callspec is not None else None
    if core is not None:
        monkeypatch.setenv("AUTOPROV_CORE", core)


@pytest.fixture
def core(request) -> str:
    """The core under test (AUTOPROV_CORE is set by _core_under_test)."""
    return request.param
@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL server of the tests' own, started once per session and removed after it."""
    from pgserver import Server

    server = Server().start()
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server, request):
    """A fresh, empty database on the test server: its postgresql:// URL (with a password)."""
    import re

    name = "t_" + re.sub(r"[^a-z0-9]", "_", request.node.name.lower())[:50]
    postgres_server.drop_database(name)
    url = postgres_server.create_database(name)
    yield url
    postgres_server.drop_database(name)
