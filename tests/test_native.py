"""The native core: built by a normal install and used, and each C part behaving as its pure twin.

The C-part tests run each check in a fresh interpreter, since an audit hook can never be removed.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import environment, run_autoprov


def run_python(code: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, capture_output=True, text=True,
                          env=environment(env), timeout=120)


def test_the_run_records_the_core_it_used(tmp_path: Path, core: str) -> None:
    (tmp_path / "main.py").write_text("from toy.core import outer\nouter(1)\n")
    result = run_autoprov(["main.py"], tmp_path, options=["--match", "toy.*:*", "--debug", "engine"])
    assert result.returncode == 0, result.stderr
    info = result.of_kind("run")[0][3]
    assert info["core"] == core
    assert f"{core} core" in info["engine_reason"]
    assert sum(1 for line in result.stderr.splitlines() if "core" in line) == 1  # said once, in --debug engine
    assert len(result.of_kind("act")) == 3


def test_a_normal_install_uses_the_native_core(tmp_path: Path, monkeypatch) -> None:
    """`pip install -e .` (make venv, CI) builds autoprov._native, and a run uses it unless told not to."""
    monkeypatch.delenv("AUTOPROV_CORE", raising=False)
    (tmp_path / "main.py").write_text("print('hi')\n")
    result = run_autoprov(["main.py"], tmp_path)
    assert result.returncode == 0, result.stderr
    info = result.of_kind("run")[0][3]
    assert info["core"] == "native", info["engine_reason"]
    assert "autoprov._native is built" in info["engine_reason"]


def test_an_unknown_core_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text("print('never')\n")
    result = run_autoprov(["main.py"], tmp_path, env={"AUTOPROV_CORE": "turbo"})
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().splitlines() == ["autoprov: error: AUTOPROV_CORE='turbo' is not a core; use native, pure or leave it unset [AP001]"]


def test_forcing_native_where_it_cannot_load_says_so(tmp_path: Path) -> None:
    """With the extension hidden (a failed build), AUTOPROV_CORE=native is one line and status 2,
    and without AUTOPROV_CORE the same install runs pure and records why."""
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(textwrap.dedent("""
        import sys
        class NoNativeCore:  # what an install without a compiler leaves: no autoprov._native
            def find_spec(self, name, path=None, target=None):
                if name == "autoprov._native":
                    raise ImportError("no module named autoprov._native (not built)")
        sys.meta_path.insert(0, NoNativeCore())
    """))
    env = {"PYTHONPATH": f"{blocker}:{environment()['PYTHONPATH']}"}
    (tmp_path / "main.py").write_text("from toy.core import outer\nouter(1)\n")
    forced = run_autoprov(["main.py"], tmp_path, options=["--match", "toy.*:*"], env={**env, "AUTOPROV_CORE": "native"})
    assert forced.returncode == 2
    assert "AUTOPROV_CORE=native but autoprov._native cannot be imported" in forced.stderr
    fallback = run_autoprov(["main.py"], tmp_path, options=["--match", "toy.*:*"], env={**env, "AUTOPROV_CORE": ""},
                            store=tmp_path / "fallback")
    assert fallback.returncode == 0, fallback.stderr
    info = fallback.of_kind("run")[0][3]
    assert info["core"] == "pure" and "autoprov._native is not built" in info["engine_reason"]
    assert len(fallback.of_kind("act")) == 3


def test_code_map_keys_by_identity(tmp_path: Path) -> None:
    """Two code objects equal by value (the same source compiled twice) are two keys; a key holds
    its code object alive."""
    result = run_python("""
        import gc, weakref
        from autoprov import _native
        from autoprov.filtering.plans import PlanCache
        for cache in (_native.CodeMap(), PlanCache()):
            first = compile("def f(x):\\n    return x\\n", "same.py", "exec").co_consts[0]
            second = compile("def f(x):\\n    return x\\n", "same.py", "exec").co_consts[0]
            assert first == second and first is not second
            cache[first] = "old"
            assert cache.get(second) is None and second not in cache
            cache[second] = "new"
            assert cache.get(first) == "old" and cache.get(second) == "new" and len(cache) == 2
            for n in range(5000):  # growth keeps every entry
                cache[compile(f"def g{n}(): pass", "many.py", "exec").co_consts[0]] = n
            assert len(cache) == 5002 and cache.get(first) == "old"
        print("ok")
    """, tmp_path)
    assert result.stdout == "ok\n", result.stderr


def test_audit_hook_passes_only_file_events_and_never_raises(tmp_path: Path) -> None:
    result = run_python("""
        import os
        from autoprov import _native
        seen = []
        def handler(event, args):
            seen.append(event)
            if event == "os.remove":
                raise RuntimeError("a bug in the handler")
        assert _native.audit_install(["open", "os.remove"]) is True
        assert _native.audit_install(["open"]) is False  # once per process
        _native.audit_route(handler)
        id(1); compile("1", "x", "eval"); os.listdir(".")
        with open("f.txt", "w") as out:
            out.write("x")
        os.remove("f.txt")  # the handler raises: the user's call must still succeed
        assert not os.path.exists("f.txt")
        _native.audit_route(None)
        open("g.txt", "w").close()  # routed nowhere: not seen
        print(seen)
    """, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "['open', 'os.remove']\n"


def test_audit_hook_cache_never_hides_a_watched_event(tmp_path: Path) -> None:
    """The hook remembers events it does not watch by their name's first bytes, in a slot chosen by
    the name's address: names built at run time (sys.audit from Python passes a str's buffer,
    freed and reused) and names that share a watched name's beginning still reach the handler
    exactly when they are watched."""
    result = run_python("""
        import sys
        from autoprov import _native
        seen = []
        _native.audit_install(["open", "os.remove", "shutil.copytree"])
        _native.audit_route(lambda event, args: seen.append(event))
        for round in range(3):
            for i in range(2000):
                sys.audit("".join(["evt", str(i)]))  # a fresh buffer each time, addresses reused
                watched = i % 500 == 0
                sys.audit("".join(["op", "en"]) if watched else "".join(["ope", "n!"]))
                sys.audit("".join(["shutil.", "copytree"]) if watched else "".join(["shutil.", "copytreeX"]))
            for name in ("os.removex", "os.remov", "shutil.copytreex", "shutil.copytre", "opening", "ope"):
                sys.audit(name)
            sys.audit("os.remove"); sys.audit("shutil.copytree")
            id(1)
        print(seen.count("open"), seen.count("os.remove"), seen.count("shutil.copytree"), len(seen))
    """, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "12 3 15 30\n"


def test_audit_hook_ignores_other_sub_interpreters(tmp_path: Path) -> None:
    module = "_interpreters" if sys.version_info >= (3, 13) else "_xxsubinterpreters"
    result = run_python(f"""
        import {module} as interpreters
        from autoprov import _native
        seen = []
        _native.audit_install(["open"])
        _native.audit_route(lambda event, args: seen.append(args[0]))
        interpreter = interpreters.create()
        interpreters.run_string(interpreter, "open('in-sub.txt', 'w').close()")
        interpreters.destroy(interpreter)
        open("in-main.txt", "w").close()
        print(seen)
    """, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "['in-main.txt']\n"


def test_gettrace_with_the_native_tracer(tmp_path: Path) -> None:
    """sys.gettrace() returns the C tracer itself, so a program that saves and restores the trace
    function (doctest, debuggers) keeps autoprov tracing; constructed with visible=False it
    returns None instead (the hook left for programs that test gettrace() for a debugger)."""
    result = run_python("""
        import sys
        from autoprov import _native
        calls = []
        def make(visible):
            plans = _native.CodeMap()
            def decide(code, module_globals):
                plans[code] = "plan" if code.co_name == "f" else None
                return plans[code]
            return _native.FrameTracer({}, plans, lambda frame: True, decide,
                                       lambda plan, frame, arg: calls.append(frame.f_code.co_name),
                                       lambda frame, value, unwinding: None, {}, set(), print, visible=visible)
        def f():
            return 1
        tracer = make(True)
        tracer.start()
        assert sys.gettrace() is tracer and tracer.installed()
        saved = sys.gettrace(); sys.settrace(None); f(); sys.settrace(saved)
        f()
        assert tracer.installed()
        tracer.stop()
        hidden = make(False)
        hidden.start()
        assert sys.gettrace() is None and hidden.installed()
        f()
        hidden.stop()
        assert sys.gettrace() is None and not hidden.installed()
        print(calls)
    """, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "['f', 'f']\n"


COUNTS_ID_EVENTS = """
import sys
seen = []
sys.addaudithook(lambda event, args: seen.append(event) if event == "builtins.id" else None)
from toy.core import keep, outer
outer(1)
keep(object())
keep([1, 2])
print(len(seen))
"""


def test_the_native_core_raises_no_id_event_of_its_own(tmp_path: Path, core: str) -> None:
    """Each ``id()`` raises an audit event that every hook of the program is called for (~3,500
    instructions with a Python hook, which gammapy's dependencies install); the native core's
    module scans and object registry take identities without one, so the program's own hook sees
    exactly its own events.  The pure core's twin is ``id()`` itself."""
    (tmp_path / "main.py").write_text(COUNTS_ID_EVENTS)
    plain = subprocess.run([sys.executable, "main.py"], cwd=tmp_path, capture_output=True, text=True,
                           env=environment(), timeout=60)
    result = run_autoprov(["main.py"], tmp_path, options=["--match", "toy.*:*"])
    assert plain.returncode == 0 and result.returncode == 0, result.stderr
    assert {e[3] for e in result.of_kind("act")} >= {"toy.core.outer", "toy.core.keep"}
    if core == "native":
        assert result.stdout == plain.stdout
    else:
        assert int(result.stdout) > int(plain.stdout)  # what the native core saves: the test can fail
