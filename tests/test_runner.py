"""The program must see exactly what plain python gives it, and end exactly as it would."""

from __future__ import annotations

import json
import shutil
import signal
import zipfile
from pathlib import Path

import pytest

from conftest import SCRIPTS, run_autoprov, run_plain


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "sub").mkdir()
    shutil.copy(SCRIPTS / "probe.py", tmp_path / "sub" / "probe.py")
    package = tmp_path / "probepkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    shutil.copy(SCRIPTS / "probe.py", package / "__main__.py")
    shutil.copy(SCRIPTS / "probe.py", package / "mod.py")
    app = tmp_path / "app"
    app.mkdir()
    shutil.copy(SCRIPTS / "probe.py", app / "__main__.py")
    with zipfile.ZipFile(tmp_path / "app.zip", "w") as archive:
        archive.write(SCRIPTS / "probe.py", "__main__.py")
    return tmp_path


def normalise(seen: dict) -> dict:
    """The loader object differs only by address; everything else must be identical."""
    return seen


PROGRAMS = {
    "script": ["sub/probe.py", "a", "--flag", "b c"],
    "module": ["-m", "probepkg.mod", "x", "-m", "y"],
    "package": ["-m", "probepkg", "--", "z"],
    "directory": ["app", "1"],
    "zip": ["app.zip", "2"],
}


@pytest.mark.parametrize("program", PROGRAMS, ids=list(PROGRAMS))
def test_program_sees_what_python_gives_it(workdir: Path, engine: str, program: str) -> None:
    args = PROGRAMS[program]
    plain = run_plain(args, workdir, stdin="input text\n")
    captured = run_autoprov(args, workdir, engine=engine, stdin="input text\n")
    assert plain.returncode == 0, plain.stderr
    assert captured.returncode == 0, captured.stderr
    assert json.loads(captured.stdout) == json.loads(plain.stdout)
    assert captured.stderr == plain.stderr == ""
    seen = json.loads(captured.stdout)
    assert seen["name"] == "__main__" and seen["main_is_module"] and not seen["autoprov_in_globals"]
    assert seen["stdin"] == "input text\n"


ENDINGS = {
    "normal": ("print('done')", 0),
    "exit0": ("import sys; sys.exit(0)", 0),
    "exit3": ("import sys; sys.exit(3)", 3),
    "exit_message": ("import sys; sys.exit('bad input file')", 1),
    "exit_none": ("raise SystemExit", 0),
    "exception": ("def inner():\n    raise ValueError('no events in run 23523')\ndef outer():\n    inner()\nouter()", 1),
    "exception_chain": ("try:\n    1/0\nexcept ZeroDivisionError as e:\n    raise KeyError('x') from e", 1),
    "keyboard_interrupt": ("raise KeyboardInterrupt", -signal.SIGINT),
}


@pytest.mark.parametrize("ending", ENDINGS, ids=list(ENDINGS))
def test_every_ending_is_the_same(tmp_path: Path, engine: str, ending: str) -> None:
    source, expected_status = ENDINGS[ending]
    script = tmp_path / "ending.py"
    script.write_text("print('start', flush=True)\n" + source + "\n")
    plain = run_plain(["ending.py"], tmp_path)
    captured = run_autoprov(["ending.py"], tmp_path, engine=engine)
    assert plain.returncode == expected_status
    assert captured.returncode == plain.returncode
    assert captured.stdout == plain.stdout
    assert captured.stderr == plain.stderr  # same traceback text, no autoprov frames
    exits = captured.of_kind("exit")
    assert len(exits) == 1
    expected = {0: "completed", -signal.SIGINT: "interrupted"}.get(expected_status, "failed")
    assert exits[0][2] == expected


def test_traceback_has_no_autoprov_frames(tmp_path: Path) -> None:
    (tmp_path / "tb.py").write_text("import json\njson.loads('{')\n")
    captured = run_autoprov(["tb.py"], tmp_path)
    assert captured.returncode == 1
    assert "autoprov/runner.py" not in captured.stderr and "autoprov/cli/" not in captured.stderr
    assert 'File "' + str(tmp_path / "tb.py") in captured.stderr
    assert captured.stderr == run_plain(["tb.py"], tmp_path).stderr


def test_summary_line_names_the_run(tmp_path: Path) -> None:
    (tmp_path / "s.py").write_text("pass\n")
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "autoprov", "s.py"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0
    line = done.stderr.strip().splitlines()[-1]
    assert line.startswith("autoprov: ") and ".prov" in line


@pytest.mark.parametrize(
    "args, message",
    [
        (["--engine", "turbo", "x.py"], "unknown engine 'turbo'"),
        (["missing.py"], "can't open file"),
        (["emptydir"], "can't find '__main__' module"),
        (["-m", "no_such_module_xyz"], "no module named 'no_such_module_xyz'"),
        ([], "no program to run"),
        (["--debug", "everything", "x.py"], "unknown --debug topic 'everything'"),
        (["--hash", "crc", "x.py"], "invalid choice: 'crc'"),
        (["--engine", "settrace", "--engine", "setprofile", "x.py"], "conflicting --engine values 'settrace' and 'setprofile'"),
        (["--store", "a", "--store", "b", "x.py"], "conflicting --store values"),
    ],
)
def test_bad_command_lines_exit_2_before_the_program(tmp_path: Path, args: list[str], message: str) -> None:
    import subprocess
    import sys

    (tmp_path / "emptydir").mkdir()
    (tmp_path / "x.py").write_text("open('ran', 'w').write('ran')\n")
    done = subprocess.run([sys.executable, "-m", "autoprov", *args], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 2
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "ran").exists()


def test_monitoring_engine_only_where_python_has_it(tmp_path: Path) -> None:
    import sys

    (tmp_path / "x.py").write_text("pass\n")
    done = run_autoprov(["x.py"], tmp_path, engine="monitoring")
    if sys.version_info >= (3, 12):
        assert done.returncode == 0
        assert done.of_kind("run")[0][3]["engine"] == "monitoring"
    else:
        assert done.returncode == 2 and "needs Python >= 3.12" in done.stderr


def test_evalframe_engine_only_on_python_311_with_the_native_core(tmp_path: Path, core: str) -> None:
    """``--engine evalframe`` records on 3.11 with the native core; elsewhere a one-line usage error
    that says what to use instead, before the program runs."""
    import sys

    (tmp_path / "x.py").write_text("open('ran', 'w').write('ran')\n")
    from autoprov.engine.core import select

    native = select({"AUTOPROV_CORE": core})[0]
    done = run_autoprov(["x.py"], tmp_path, engine="evalframe")
    if sys.version_info[:2] == (3, 11) and hasattr(native, "EvalFrame"):  # not in a build without the 3.11 internals
        assert done.returncode == 0, done.stderr
        assert done.of_kind("run")[0][3]["engine"] == "evalframe"
        return
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
    assert ("written for Python 3.11" if sys.version_info[:2] != (3, 11) else "needs the native core") in done.stderr
    assert not (tmp_path / "ran").exists()


def test_console_script_and_run_subcommand(tmp_path: Path) -> None:
    import subprocess
    import sys

    shutil.copy(SCRIPTS / "probe.py", tmp_path / "probe.py")
    plain = run_plain(["probe.py", "q"], tmp_path)
    autoprov_bin = Path(sys.executable).parent / "autoprov"
    done = subprocess.run([str(autoprov_bin), "run", "--quiet", "probe.py", "q"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == json.loads(plain.stdout)
