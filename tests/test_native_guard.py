"""The native core on a Python it was not written for: built without its interpreter-internal parts.

``_native.c`` reads the interpreter's own structures (the thread state's frame chain for
``exec_as_main``, its trace function, code-object fields) only for the minor versions it was
written and tested for.  Here it is compiled as for any other version
(``-DAUTOPROV_FORCE_UNKNOWN_PYTHON``) into a copy of the package, and the runner tests run against
that copy with the native core forced: the program must see exactly what plain python gives it,
with the pure twins standing in, and ``--debug engine`` must say so.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from conftest import REPO, TOYPKG, environment, run_autoprov


@pytest.fixture(scope="module")
def guarded(tmp_path_factory) -> Path:
    """A copy of autoprov whose native core is built as for an unknown Python (its parent folder)."""
    root = tmp_path_factory.mktemp("guarded")
    shutil.copytree(REPO / "autoprov", root / "autoprov", ignore=shutil.ignore_patterns("*.so", "__pycache__"))
    target = root / "autoprov" / ("_native" + sysconfig.get_config_var("EXT_SUFFIX"))
    compiler = shlex.split(sysconfig.get_config_var("CC") or "cc")
    shared = shlex.split(sysconfig.get_config_var("LDSHARED") or "cc -shared")[1:]
    flags = shlex.split(sysconfig.get_config_var("CCSHARED") or "-fPIC")
    subprocess.run([*compiler, *flags, *shared, "-O1", "-DAUTOPROV_FORCE_UNKNOWN_PYTHON",
                    f"-I{sysconfig.get_paths()['include']}", str(REPO / "autoprov" / "_native.c"), "-o", str(target)],
                   check=True, capture_output=True, text=True)
    return root


def test_unknown_python_builds_without_internals_and_says_so(guarded: Path, tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text("from toy.core import outer\nouter(1)\n")
    result = run_autoprov(["main.py"], tmp_path, options=["--match", "toy.*:*", "--debug", "engine"],
                          env={"PYTHONPATH": f"{TOYPKG}:{guarded}", "AUTOPROV_CORE": "native"})
    assert result.returncode == 0, result.stderr
    info = result.of_kind("run")[0][3]
    assert info["core"] == "native"
    assert "without its interpreter-internal parts" in info["engine_reason"]
    assert "without its interpreter-internal parts" in result.stderr
    assert len(result.of_kind("act")) == 3


@pytest.mark.slow  # ~60 s (240 s on a loaded machine): the 3.12 suite runs it, the other interpreters' fast suites do not
def test_runner_tests_pass_against_the_guarded_build(guarded: Path) -> None:
    """Every native-core runner test, run against the guarded copy (a fresh pytest process, so that
    ``autoprov`` is imported from it: started outside the repository, whose folder ``python -m``
    would put first on the path)."""
    env = environment({"PYTHONPATH": str(guarded)})
    check = subprocess.run([sys.executable, "-c", "import autoprov._native as n; print(n.__file__, n.INTERNALS)"],
                           cwd=guarded, env=env, capture_output=True, text=True, check=True)
    assert check.stdout.startswith(str(guarded)) and check.stdout.split()[-1] == "False"
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "native",
                           str(REPO / "tests" / "test_runner.py")], cwd=guarded, env=env, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "skipped" not in done.stdout
