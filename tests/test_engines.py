"""Every engine records the same activities, with the same nesting and status, for every call shape."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest

from conftest import run_autoprov

MATCH = ["--match", "toy.*:*"]


def capture(tmp_path: Path, engine: str, body: str, options: list[str] | None = None):
    (tmp_path / "main.py").write_text("from toy.core import *\n" + body + "\n")
    result = run_autoprov(["main.py"], tmp_path, engine=engine, options=options or MATCH)
    assert result.returncode == 0, result.stderr
    return result, result.activities()


def names(acts: dict) -> list[str]:
    return [a["name"].removeprefix("toy.core.") for a in acts.values()]


def test_nested_calls_and_parameters(tmp_path: Path, engine: str) -> None:
    result, acts = capture(tmp_path, engine, "outer(5)")
    assert names(acts) == ["outer", "leaf", "leaf"]
    outer_id = next(i for i, a in acts.items() if a["name"].endswith("outer"))
    assert acts[outer_id]["parent"] is None and acts[outer_id]["params"] == {"x": 5}
    leaves = [a for a in acts.values() if a["name"].endswith("leaf")]
    assert [a["params"] for a in leaves] == [{"x": 5, "scale": 2}, {"x": 6, "scale": 2}]
    assert all(a["parent"] == outer_id and a["status"] == "completed" for a in leaves)


def test_recursion_nests_each_level(tmp_path: Path, engine: str) -> None:
    _, acts = capture(tmp_path, engine, "recurse(3)")
    chain = sorted(acts.items())
    assert [a["params"]["n"] for _, a in chain] == [3, 2, 1, 0]
    assert [a["parent"] for _, a in chain] == [None, chain[0][0], chain[1][0], chain[2][0]]
    assert all(a["status"] == "completed" for a in acts.values())


def test_exceptions_mark_the_activity_failed(tmp_path: Path, engine: str) -> None:
    _, acts = capture(tmp_path, engine, "catches()")
    by_name = {a["name"].removeprefix("toy.core."): a for a in acts.values()}
    assert by_name["catches"]["status"] == "completed"
    assert by_name["failing"]["status"] == "failed"
    if engine != "setprofile":  # a profile function is not told which exception unwound a frame
        assert by_name["failing"]["error"] == "ValueError: inner"


def test_generator_is_one_activity_from_start_to_end(tmp_path: Path, engine: str) -> None:
    _, acts = capture(tmp_path, engine, "print(sum(numbers(3)))")
    generator = [i for i, a in acts.items() if a["name"].endswith("numbers")]
    assert len(generator) == 1
    leaves = [a for a in acts.values() if a["name"].endswith("leaf")]
    assert len(leaves) == 3 and all(a["parent"] == generator[0] for a in leaves)
    assert acts[generator[0]]["status"] == "completed"


@pytest.mark.parametrize("how", ["del g", "g.close()"])
def test_generator_closed_early_is_completed(tmp_path: Path, engine: str, how: str) -> None:
    """Closing a generator (explicitly or by dropping it) ends its activity: completed, not left open."""
    _, acts = capture(tmp_path, engine, f"g = numbers(5)\nnext(g)\n{how}\nkeep(1)")
    generator = [a for a in acts.values() if a["name"].endswith("numbers")]
    assert len(generator) == 1 and generator[0]["status"] == "completed"
    kept = [a for a in acts.values() if a["name"].endswith("keep")]
    assert kept[0]["parent"] is None  # the closed generator is not left on the stack


GENERATORS = """
def leaf(x):
    return x


def tolerant(n):
    for i in range(n):
        try:
            yield i
        except ValueError:
            leaf(-1)


def plain(n):
    for i in range(n):
        yield i
"""


def capture_module(tmp_path: Path, engine: str, module: str, body: str, name: str = "mod"):
    (tmp_path / f"{name}.py").write_text(module)
    (tmp_path / "main.py").write_text(body + "\n")
    result = run_autoprov(["main.py"], tmp_path, engine=engine, options=["--match", f"{name}:*"],
                          env={"PYTHONPATH": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    return result, result.activities()


def test_calls_after_throw_keep_their_generator_as_parent(tmp_path: Path, engine: str) -> None:
    body = "import mod\ng = mod.tolerant(3)\nnext(g)\nprint(g.throw(ValueError))\nnext(g)\ng.close()\nmod.leaf(9)"
    result, acts = capture_module(tmp_path, engine, GENERATORS, body)
    assert result.stdout == "1\n"
    (generator,) = [i for i, a in acts.items() if a["name"] == "mod.tolerant"]
    leaves = [a for a in acts.values() if a["name"] == "mod.leaf"]
    assert [a["params"]["x"] for a in leaves] == [-1, 9]
    assert leaves[0]["parent"] == generator and leaves[1]["parent"] is None
    assert acts[generator]["status"] == "completed"


def test_exception_thrown_into_a_generator_fails_it(tmp_path: Path, engine: str) -> None:
    body = "import mod\ng = mod.plain(3)\nnext(g)\ntry:\n    g.throw(KeyError('k'))\nexcept KeyError:\n    pass\nmod.leaf(1)"
    _, acts = capture_module(tmp_path, engine, GENERATORS, body)
    (generator,) = [a for a in acts.values() if a["name"] == "mod.plain"]
    # a profile function is never told the exception; 3.11 does not pass it on throw() either,
    # so setprofile there records the generator as closed (documented in engine/setprofile.py)
    expected = "completed" if engine == "setprofile" and sys.version_info < (3, 12) else "failed"
    assert generator["status"] == expected
    (leaf,) = [a for a in acts.values() if a["name"] == "mod.leaf"]
    assert leaf["parent"] is None


def test_redefined_function_gets_its_own_decision(tmp_path: Path, engine: str) -> None:
    """importlib.reload (or a notebook cell run again) makes new code objects with the same name and
    first line: each call is one completed top-level activity, none nested in a call of the old code."""
    module = "def work(x):\n    return x + 1\n"
    body = "import importlib, mod\nmod.work(1)\nimportlib.reload(mod)\nmod.work(2)\nmod.work(3)\nimportlib.reload(mod)\nmod.work(4)"
    _, acts = capture_module(tmp_path, engine, module, body)
    works = [a for a in acts.values() if a["name"] == "mod.work"]
    assert [a["params"]["x"] for a in works] == [1, 2, 3, 4]
    assert all(a["parent"] is None and a["status"] == "completed" for a in works)


MISSED_RETURN = {
    # each switches the engine off inside b() so that b's return is not seen, then back on
    "monitoring": ("import sys\ntool = next(i for i in range(6) if sys.monitoring.get_tool(i) == 'autoprov')\n"
                   "def off():\n    sys.monitoring.set_local_events(tool, b.__code__, 0)\n"
                   "def on():\n    pass\n"),
    # the native tracer is not what sys.gettrace() returns (as under python): it is threading's hook
    "settrace": "import sys, threading\nsaved = []\ndef off():\n    saved.append(sys.gettrace() or threading.gettrace())\n"
                "    sys.settrace(None)\ndef on():\n    sys.settrace(saved.pop())\n",
    "setprofile": "import sys, threading\nsaved = []\ndef off():\n    saved.append(sys.getprofile() or threading.getprofile())\n"
                  "    sys.setprofile(None)\ndef on():\n    sys.setprofile(saved.pop())\n",
    # the interpreter's default evaluator put back in place of the hook, as another PEP 523 tool would
    "evalframe": "import ctypes\napi = ctypes.pythonapi\napi.PyInterpreterState_Get.restype = ctypes.c_void_p\n"
                 "api._PyInterpreterState_GetEvalFrameFunc.restype = ctypes.c_void_p\n"
                 "api._PyInterpreterState_GetEvalFrameFunc.argtypes = [ctypes.c_void_p]\n"
                 "api._PyInterpreterState_SetEvalFrameFunc.argtypes = [ctypes.c_void_p, ctypes.c_void_p]\n"
                 "interp = api.PyInterpreterState_Get()\nsaved = []\ndef off():\n"
                 "    saved.append(api._PyInterpreterState_GetEvalFrameFunc(interp))\n"
                 "    api._PyInterpreterState_SetEvalFrameFunc(interp, ctypes.cast(api._PyEval_EvalFrameDefault, ctypes.c_void_p))\n"
                 "def on():\n    api._PyInterpreterState_SetEvalFrameFunc(interp, saved.pop())\n",
}


def test_a_missed_return_does_not_corrupt_the_stack(tmp_path: Path, engine: str) -> None:
    module = MISSED_RETURN[engine] + "def a():\n    return 1\ndef b():\n    off()\n    return 2\ndef c():\n    return a()\n"
    body = "import mod\nmod.a()\nmod.b()\nmod.on()\nmod.c()\nmod.a()"
    _, acts = capture_module(tmp_path, engine, module, body)
    calls = [(i, a["name"].removeprefix("mod."), a["parent"], a["status"]) for i, a in acts.items()]
    named = {name: (i, parent, status) for i, name, parent, status in calls if name in ("b", "c")}
    # its end was never seen; the frame-evaluation hook, already around b when it is switched off,
    # still sees it return
    assert named["b"][2] == ("completed" if engine == "evalframe" else "incomplete")
    assert named["c"][1] is None and named["c"][2] == "completed"  # not a child of b
    inner_a = [parent for _, name, parent, _ in calls if name == "a"]
    assert inner_a == [None, named["c"][0], None]


def test_stop_is_safe_while_threads_meet_new_code(tmp_path: Path, engine: str) -> None:
    """Captures starting and stopping while other threads keep defining and calling new functions
    (each a code object the engine has to decide on, one in 64 matched): nothing autoprov does
    reaches those threads as an exception, and the matched ones are recorded."""
    body = "\n".join([
        "import threading, autoprov",
        "done = threading.Event()",
        "errors = []",
        "def worker(n):",
        "    i = 0",
        "    while not done.is_set():",
        "        space = {'__name__': '__main__' if i % 64 == 0 else 'scratch'}  # matched now and then: few records to export",
        "        exec(f'def f{n}_{i}(x):\\n    return x + 1\\n', space)",
        "        try:",
        "            space[f'f{n}_{i}'](i)",
        "        except BaseException as error:",
        "            errors.append(repr(error))",
        "        i += 1",
        "import sys",
        "sys.setswitchinterval(1e-4)  # stop() releases the GIL often (writes, SQLite): not 5 ms behind 3 spinning threads each time",
        "threads = []",
        "for round in range(6):",
        f"    with autoprov.capture(engine={engine!r}, match=['__main__:*'], formats='json', graphs='none', quiet=True):",
        "        if not threads:",
        "            threads = [threading.Thread(target=worker, args=(n,)) for n in range(3)]",
        "            for thread in threads:",
        "                thread.start()",
        "        sum(range(20000))",
        "done.set()",
        "for thread in threads:",
        "    thread.join()",
        "print('errors', errors[:3])",
    ])
    (tmp_path / "main.py").write_text(body + "\n")
    from conftest import run_plain

    result = run_plain(["main.py"], tmp_path, env={"AUTOPROV_STORE": str(tmp_path / "store")})
    assert result.returncode == 0, result.stderr
    assert result.stdout == "errors []\n"
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
    runs = [p for p in (tmp_path / "store").iterdir() if (p / "events.jsonl").exists()]
    assert len(runs) == 6 and any('"__main__.f' in (run / "events.jsonl").read_text() for run in runs)


def test_coroutine_is_one_activity(tmp_path: Path, engine: str) -> None:
    _, acts = capture(tmp_path, engine, "print(run_async(4))")
    fetch = [i for i, a in acts.items() if a["name"].endswith("fetch")]
    assert len(fetch) == 1 and acts[fetch[0]]["status"] == "completed"
    leaf = [a for a in acts.values() if a["name"].endswith("leaf")]
    assert len(leaf) == 1 and leaf[0]["parent"] == fetch[0]


def test_methods_of_every_kind(tmp_path: Path, engine: str) -> None:
    body = "\n".join([
        "b = Base.create(3)",
        "Base.helper(1)",
        "b.doubled",
        "Child(1).process([1, 2])",
        "Inherits(2).process([3])",
    ])
    _, acts = capture(tmp_path, engine, body)
    seen = Counter(names(acts))
    assert seen["Base.create"] == 1 and seen["Base.helper"] == 1 and seen["Base.doubled"] == 1
    assert seen["Base.__init__"] == 3
    assert seen["Child.transform"] == 1  # the override, not the base method
    assert seen["Base.transform"] == 1  # inherited, not overridden
    assert seen["Base.process"] == 2
    create = next(a for a in acts.values() if a["name"].endswith("Base.create"))
    assert create["params"] == {"size": 3}


def test_exclude_and_nonmatching_code_are_not_recorded(tmp_path: Path, engine: str) -> None:
    _, acts = capture(tmp_path, engine, "outer(1)\nrecurse(1)", options=["--match", "toy.core:outer"])
    assert names(acts) == ["outer"]


def test_threads_each_get_their_own_nesting(tmp_path: Path, engine: str) -> None:
    threads, calls = 8, 25
    _, acts = capture(tmp_path, engine, f"in_threads({threads}, {calls})", options=["--match", "toy.core:outer", "--match", "toy.core:leaf"])
    outers = {i: a for i, a in acts.items() if a["name"].endswith("outer")}
    leaves = [a for a in acts.values() if a["name"].endswith("leaf")]
    assert len(outers) == threads * calls and len(leaves) == 2 * threads * calls
    assert Counter(a["thread"] for a in outers.values()) == {f"worker-{n}": calls for n in range(threads)}
    for leaf in leaves:
        parent = outers[leaf["parent"]]
        assert parent["thread"] == leaf["thread"]
    assert all(a["status"] == "completed" for a in acts.values())


def _fallback_engine(core: str, monitoring_else: str) -> str:
    """The engine ``auto`` gives: monitoring on 3.12+, on 3.11 the frame-evaluation engine with the
    native core, else ``monitoring_else``."""
    if sys.version_info >= (3, 12):
        return "monitoring"
    return "evalframe" if core == "native" else monitoring_else


def test_engine_choice_is_recorded_with_a_reason(tmp_path: Path, core: str) -> None:
    result, _ = capture(tmp_path, "auto", "outer(1)")
    info = result.of_kind("run")[0][3]
    expected = _fallback_engine(core, "settrace")
    assert info["engine"] == expected and info["engine_reason"]


@pytest.mark.parametrize("other", ["settrace", "setprofile"])
def test_another_tracer_keeps_working(tmp_path: Path, other: str) -> None:
    """A program that installs its own tracer (a debugger, coverage) still gets its events."""
    body = "\n".join([
        "import sys",
        "seen = []",
        "def tracer(frame, event, arg):",
        "    if frame.f_code.co_name == 'leaf':",
        "        seen.append(event)",
        "    return None",
        f"sys.{other}(tracer)",
        "outer(1)",
        f"sys.{other}(None)",
        "print(sorted(set(seen)))",
    ])
    result, acts = capture(tmp_path, "auto", body)
    assert "call" in result.stdout
    if sys.version_info >= (3, 12):  # monitoring coexists with both
        assert names(acts) == ["outer", "leaf", "leaf"]


def test_engine_choice_respects_an_existing_tracer(tmp_path: Path, core: str) -> None:
    """Started under a debugger or coverage (sys.settrace taken), autoprov does not take it over
    (the frame-evaluation engine leaves trace functions alone)."""
    (tmp_path / "main.py").write_text("from toy.core import outer\nouter(1)\nimport sys\nprint(sys.gettrace() is not None)\n")
    launcher = (
        "import sys\n"
        "def tracer(frame, event, arg):\n    return None\n"
        "sys.settrace(tracer)\n"
        "from autoprov.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    import subprocess

    from conftest import environment

    store = tmp_path / "store"
    done = subprocess.run(
        [sys.executable, "-c", launcher, "--store", str(store), "--quiet", "--match", "toy.*:*", "main.py"],
        cwd=tmp_path, capture_output=True, text=True, env=environment(),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "True\n"  # the existing tracer is still installed
    from autoprov.log.reader import read_events

    (run,) = [p for p in store.iterdir() if p.is_dir()]  # beside it: the index, written after exit
    events = list(read_events(run))
    info = events[0][3]
    expected = _fallback_engine(core, "setprofile")
    assert info["engine"] == expected, info["engine_reason"]
    assert sum(1 for e in events if e[0] == "act") == 3


@pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="the frame-evaluation engine is Python 3.11's")
def test_frame_evaluation_hook_of_another_tool_is_left_alone(tmp_path: Path, core: str) -> None:
    """Another tool's PEP 523 hook (here one installed before autoprov starts) stays in place: the
    settrace engine records instead and the reason says why; asked for explicitly, a usage error.
    With the pure core the engine is not there at all, and the reason says that instead."""
    (tmp_path / "main.py").write_text("from toy.core import outer\nouter(1)\n")
    launcher = (
        "import sys\n"
        "from autoprov import _native\n"
        "never = lambda *args: False  # decides every module out: a hook that passes everything through\n"
        "other = _native.EvalFrame({}, _native.CodeMap(), never, never, never, never, never, never, never)\n"
        "other.start()\n"
        "from autoprov.cli import main\n"
        "code = main(sys.argv[1:])\n"
        "print(other.installed())\n"
        "sys.exit(code)\n"
    )
    import subprocess

    from conftest import environment

    def run(*options: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", launcher, "--store", str(tmp_path / "store"), *options, "--match", "toy.*:*", "main.py"],
                              cwd=tmp_path, capture_output=True, text=True, env=environment())

    done = run("--debug", "engine")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "True\n"  # the other hook is still the interpreter's
    why = "is taken by another tool" if core == "native" else "needs the native core"  # the pure core cannot tell
    assert f"engine settrace: no sys.monitoring before Python 3.12; the frame-evaluation {'hook (PEP 523)' if core == 'native' else 'engine'} {why}" in done.stderr
    refused = run("--engine", "evalframe")
    refusal = "another tool already installed a frame-evaluation function" if core == "native" else "needs the native core"
    assert refused.returncode == 2 and refusal in refused.stderr
