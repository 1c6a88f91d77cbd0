"""Start-up stays cheap (issue 21, part 4), checked without timing.

What ``python -m autoprov`` imports before the program's first line is read by the program itself
(``sys.modules`` in a real run); the exporter, the log reader and ``subprocess`` belong to the end
of the run and must not be loaded before it.  The filters' start-up cache is checked the same way:
a run whose filter is cached never loads the YAML parser and pydantic; an edited filter, a corrupt
cache file and a cache folder that cannot be written all fall back silently to compiling.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from conftest import run_autoprov

# imported only where the end of the run or a command needs them (the numbers: docs/performance.md)
NOT_AT_START = (
    "autoprov.export.model", "autoprov.export.statements", "autoprov.export.renderers.provjson", "autoprov.export.outputs",
    "autoprov.log.merge", "autoprov.log.reader", "autoprov.index", "autoprov.cli.export", "autoprov.session.offload",
    "subprocess", "html", "dis", "dataclasses", "inspect", "importlib.resources", "tempfile",
    "yaml", "pydantic", "autoprov.filtering.parse", "autoprov.filtering.validate",
)
PROGRAM = "import sys, gc\nopen('seen.txt', 'w').write(repr([sorted(sys.modules), gc.isenabled()]))\n"

FILTER = """description: the start-up tests' filter
activities:
  - function: steps:{name}
    parameters: all
"""
STEPS = "def first(x):\n    return x + 1\n\ndef second(x):\n    return x * 2\n"
CALLER = "import steps\nsteps.first(1)\nsteps.second(2)\n" + PROGRAM


def _seen(cwd: Path) -> tuple[set[str], bool]:
    modules, collecting = ast.literal_eval((cwd / "seen.txt").read_text())
    return set(modules), collecting


def test_the_program_starts_without_the_end_of_run_code(tmp_path: Path) -> None:
    (tmp_path / "empty.py").write_text(PROGRAM)
    cache = {"AUTOPROV_CACHE_DIR": str(tmp_path / "cache")}
    assert run_autoprov(["empty.py"], tmp_path, env=cache).returncode == 0  # the first run fills the filter cache
    result = run_autoprov(["empty.py"], tmp_path, env=cache)
    assert result.returncode == 0, result.stderr
    modules, collecting = _seen(tmp_path)
    assert "autoprov.session.capture" in modules  # it did run under autoprov
    assert sorted(set(NOT_AT_START) & modules) == []
    assert collecting  # the collector paused for autoprov's start-up is on again for the program
    assert result.events[-1][0] == "exit"  # ... and the end of the run still wrote the record
    assert (result.store / result.events[0][1] / "provenance.json").is_file()


def test_record_classes_compile_no_source() -> None:
    """typing.NamedTuple compiled each string annotation (~1.3 M instructions a field); autoprov's do not."""
    probe = ("import sys\ncompiled = []\nsys.addaudithook(lambda event, args: compiled.append(args[0]) if event == 'compile' else None)\n"
             "import autoprov.filtering, autoprov.engine, autoprov.store.layout, autoprov.export.renderers.dot\n"
             "from autoprov.filtering.rules import Rule\n"
             "assert Rule(name='n')._replace(nested=False).nested is False and Rule._field_defaults['rule_id'] == 'pattern'\n"
             # what is left once modules compiled from source and namedtuple's own __new__ are set aside: annotations
             "sources = [s.decode() if isinstance(s, bytes) else str(s) for s in compiled]\n"
             "print([s for s in sources if '\\n' not in s and not s.startswith('lambda _cls, ')])\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def _run(cwd: Path, cache: Path) -> tuple[set[str], set[str], str]:
    result = run_autoprov(["caller.py"], cwd, options=["--filter", "steps.yaml"], env={"AUTOPROV_CACHE_DIR": str(cache)})
    assert result.returncode == 0, result.stderr
    modules, _ = _seen(cwd)
    return modules, {act["name"] for act in result.activities().values()}, result.stderr


def test_filter_cache_is_used_invalidated_and_never_fatal(tmp_path: Path) -> None:
    (tmp_path / "steps.py").write_text(STEPS)
    (tmp_path / "caller.py").write_text(CALLER)
    (tmp_path / "steps.yaml").write_text(FILTER.format(name="first"))
    cache = tmp_path / "cache"

    modules, names, _ = _run(tmp_path, cache)  # cold: validated, then cached
    assert "autoprov.filtering.validate" in modules and names == {"steps.first"}
    (stored,) = cache.glob("*.json")

    modules, names, _ = _run(tmp_path, cache)  # warm: from the cache, no YAML, no pydantic
    assert "autoprov.filtering.validate" not in modules and "yaml" not in modules
    assert names == {"steps.first"}

    (tmp_path / "steps.yaml").write_text(FILTER.format(name="second"))  # an edited filter is compiled again
    modules, names, _ = _run(tmp_path, cache)
    assert "autoprov.filtering.validate" in modules and names == {"steps.second"}
    assert len(list(cache.glob("*.json"))) == 2

    for entry in cache.glob("*.json"):  # a corrupt cache file: compiled again, silently, and replaced
        entry.write_text('{"data": [1, 2')
    modules, names, stderr = _run(tmp_path, cache)
    assert "autoprov.filtering.validate" in modules and names == {"steps.second"} and stderr == ""
    modules, names, _ = _run(tmp_path, cache)
    assert "autoprov.filtering.validate" not in modules and names == {"steps.second"}

    blocked = tmp_path / "not-a-folder"  # a cache that cannot be written: compiled every time, silently
    blocked.write_text("")
    modules, names, stderr = _run(tmp_path, blocked / "cache")
    assert "autoprov.filtering.validate" in modules and names == {"steps.second"} and stderr == ""
    assert stored.exists()


def test_the_detached_exporter_holds_no_descriptor_of_the_program(tmp_path: Path) -> None:
    """The exporter is launched with ``os.posix_spawn`` (not ``subprocess``): like Popen's close_fds, it
    must not keep a descriptor the program inherited, or whoever reads the other end of that pipe
    would wait for the background export instead of the program."""
    import os
    import select

    from conftest import environment

    (tmp_path / "empty.py").write_text("")
    read_end, write_end = os.pipe()
    try:
        process = subprocess.Popen([sys.executable, "-m", "autoprov", "--quiet", "--store", str(tmp_path / "store"), "--filter", "none",
                                    "empty.py"], cwd=tmp_path, pass_fds=[write_end], env=environment())
        os.close(write_end)
        assert process.wait(timeout=600) == 0
        readable, _, _ = select.select([read_end], [], [], 0)  # end of file at once: no one holds the write end
        assert readable and os.read(read_end, 1) == b""
    finally:
        os.close(read_end)


COMPILED_ALIKE = {
    "latin-1 cookie": b"# -*- coding: latin-1 -*-\ns = '\xe9'\n",
    "byte-order mark": b"\xef\xbb\xbfs = '\xc3\xa9'\n",
    "annotations evaluated": b"def f(x: int) -> str:\n    return str(x)\n",  # the runner's own __future__ is not inherited
    "crlf": b"x = 1\r\nif x:\r\n    y = 2\r\n",
}
NOT_COMPILED = {
    "syntax error": b"x = (\n",
    "bad cookie": b"# coding: no-such-codec\nx = 1\n",
    "null byte": b"x = 1\0\n",
}


def test_the_native_compile_is_compile() -> None:
    """The program is compiled by ``_native.compile_script`` (compile() would first build the ``_ast``
    types, ~11 M instructions no plain run pays): the same code object, and the same error."""
    from autoprov import _native

    for name, source in COMPILED_ALIKE.items():
        expected = compile(source, "/tmp/prog.py", "exec", dont_inherit=True)
        got = _native.compile_script(source, "/tmp/prog.py")
        assert got == expected and got.co_filename == "/tmp/prog.py", name
        namespace: dict = {}
        exec(got, namespace)
        if "f" in namespace:
            assert namespace["f"].__annotations__ == {"x": int, "return": str}
    for name, source in NOT_COMPILED.items():
        try:
            compile(source, "/tmp/prog.py", "exec", dont_inherit=True)
        except (SyntaxError, ValueError) as error:
            expected_error = error
        try:
            _native.compile_script(source, "/tmp/prog.py")
        except (SyntaxError, ValueError) as error:
            assert type(error) is type(expected_error) and str(error) == str(expected_error), name
        else:
            raise AssertionError(f"{name}: compiled")
