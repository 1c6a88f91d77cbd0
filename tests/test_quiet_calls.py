"""Matched calls inside a call that records no nested activity (``nested: false``) are skipped in C.

The native monitoring engine (3.12+) and frame-evaluation engine (3.11) skip them without calling
the recorder (``Recorder.enter`` returns True for such a call; ``_native.c``, ``QuietThreads``):
the record must be exactly what the pure core, which calls Python for each, writes: with
recursion, exceptions, generators inside the quiet call and escaping it, and calls before and
after it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import environment, read_events

STEPS = '''
def leaf(x):
    return x + 1

def gen(n):
    for i in range(n):
        yield leaf(i)

def fails():
    leaf(0)
    raise ValueError("inner")

def deep(n):
    return leaf(n) if n == 0 else deep(n - 1)

def quiet(n):
    total = sum(leaf(i) for i in range(n)) + sum(gen(3)) + deep(3)
    try:
        fails()
    except ValueError:
        pass
    return total

def quiet_fails():
    leaf(1)
    raise KeyError("outer")

def escape():
    started = gen(2)
    next(started)
    return started
'''
PROGRAM = '''
import steps
steps.quiet(5)
steps.leaf(10)
try:
    steps.quiet_fails()
except KeyError:
    pass
rest = list(steps.escape())
steps.quiet(2)
steps.leaf(11)
'''
FILTER = '''
activities:
  - function: "steps:leaf"
  - function: "steps:gen"
  - function: "steps:fails"
  - function: "steps:deep"
  - function: "steps:quiet"
    nested: false
  - function: "steps:quiet_fails"
    nested: false
  - function: "steps:escape"
    nested: false
'''
# Runs python -m autoprov with Recorder.enter counted (the engines take it at start, after this)
COUNTING = '''
import runpy, sys
from autoprov.recorder import activities
calls = [0]
enter = activities.Recorder.enter
def counted(self, plan, frame):
    calls[0] += 1
    return enter(self, plan, frame)
activities.Recorder.enter = counted
sys.argv = ["autoprov", *sys.argv[1:]]
try:
    runpy.run_module("autoprov", run_name="__main__")
finally:
    open("enters.txt", "w").write(str(calls[0]))
'''


# the default engine of each core: no pure twin of the frame-evaluation engine (3.11)
ENGINES = {"native": "monitoring", "pure": "monitoring"} if sys.version_info >= (3, 12) else {"native": "evalframe", "pure": "settrace"}


def record(tmp_path: Path, core: str) -> tuple[list[tuple], int]:
    folder = tmp_path / core
    folder.mkdir()
    (folder / "steps.py").write_text(STEPS)
    (folder / "main.py").write_text(PROGRAM)
    (folder / "steps.yaml").write_text(FILTER)
    (folder / "counting.py").write_text(COUNTING)
    done = subprocess.run([sys.executable, "counting.py", "--engine", ENGINES[core], "--store", "store", "--quiet",
                           "--filter", "steps.yaml", "main.py"], cwd=folder, capture_output=True, text=True,
                          env=environment({"AUTOPROV_CORE": core}), timeout=120)
    assert done.returncode == 0, done.stderr
    (run,) = [p for p in (folder / "store").iterdir() if (p / "events.jsonl").exists()]
    events = list(read_events(run))
    acts = {e[1]: e for e in events if e[0] == "act"}
    ends = {e[1]: e for e in events if e[0] == "end"}
    order = {act: position for position, act in enumerate(acts)}
    shape = [(e[3].removeprefix("steps."), order.get(e[2]), e[7], ends[act][3] if act in ends else None)
             for act, e in acts.items()]
    return shape, int((folder / "enters.txt").read_text())


def test_the_quiet_path_records_what_python_records(tmp_path: Path) -> None:
    native, native_enters = record(tmp_path, "native")
    pure, pure_enters = record(tmp_path, "pure")
    assert native == pure
    names = [name for name, _, _, _ in native]
    assert names[:4] == ["quiet", "leaf", "quiet_fails", "escape"]  # nothing recorded below a quiet call
    # the generator started inside escape() and resumed outside it is not a child of the quiet call
    # (3.11's engines record it as an activity from its resume, monitoring does not): its call is
    assert [(name, params, status) for name, parent, params, status in native
            if parent is None and name != "gen" and params != {"x": 1}] == [
        ("quiet", {"n": 5}, "completed"), ("leaf", {"x": 10}, "completed"), ("quiet_fails", {}, "failed"),
        ("escape", {}, "completed"), ("quiet", {"n": 2}, "completed"), ("leaf", {"x": 11}, "completed")]
    assert [params for name, _, params, _ in native if name == "leaf"] == [{"x": 10}, {"x": 1}, {"x": 11}]
    # the pure core asks Python for each nested call; the native one for the quiet calls' generators only
    assert pure_enters - native_enters >= 2 * (5 + 1 + 4 + 2) + 2
