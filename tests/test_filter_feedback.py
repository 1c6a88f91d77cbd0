"""Filter typos are reported with file and line: by ``filters check``, by ``--debug filter``, in the summary.

A misspelt module, base class, argument or ``self.`` attribute is valid YAML and a valid filter,
and used to record nothing (or ``null``) silently.  The filter below has one of each, against the
test's toy package (``toy.core``).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import environment, run_autoprov

TYPOS = """\
activities:
  - function: toy.cor:leaf
  - function: toy.core:leaf
    parameters: [x, scael]
  - function: toy.core:Base.process
    parameters: [self.sise]
  - methods: transform
    of: toy.core.Bsae
  - function: toy.core:no_such_function
  - function: ["toy.core:keep", "toy.core:outer"]
    parameters: [value, x]
"""


def autoprov(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autoprov", *args], cwd=cwd, capture_output=True, text=True, env=environment(), timeout=120)


def warnings_of(text: str) -> list[str]:
    return [line for line in text.splitlines() if "warning:" in line]


def test_filters_check_warns_with_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "typos.yaml").write_text(TYPOS)
    done = autoprov(["filters", "check", "typos.yaml"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert warnings_of(done.stdout) == [
        "warning: typos.yaml:2: module pattern 'toy.cor' matches no importable module: there is no module 'toy.cor'",
        "warning: typos.yaml:3: leaf has no argument 'scael' (its arguments: x, scale)",
        "warning: typos.yaml:5: Base has no attribute 'sise' (read as self.sise)",
        "warning: typos.yaml:7: base class 'toy.core.Bsae' does not exist (toy.core has no class 'Bsae')",
        "warning: typos.yaml:9: pattern 'toy.core:no_such_function' selects no function of the importable modules",
    ]  # line 10: value and x are each an argument of one of the two functions: no warning
    assert done.stdout.splitlines()[-1] == "typos.yaml: 5 warnings"


def test_filters_check_without_imports_only_looks_for_the_modules(tmp_path: Path) -> None:
    (tmp_path / "typos.yaml").write_text(TYPOS)
    done = autoprov(["filters", "check", "--no-import", "typos.yaml"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert warnings_of(done.stdout) == [
        "warning: typos.yaml:2: module pattern 'toy.cor' matches no importable module: there is no module 'toy.cor'",
    ]


def test_the_shipped_gammapy_filter_has_no_warning(tmp_path: Path) -> None:
    done = autoprov(["filters", "check", "gammapy"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert warnings_of(done.stdout) == []


def test_debug_filter_warns_during_the_run(tmp_path: Path, engine: str) -> None:
    (tmp_path / "typos.yaml").write_text(TYPOS)
    (tmp_path / "main.py").write_text("from toy.core import Base, keep, leaf\nleaf(1)\nkeep(2)\nBase(3).process([1])\n")
    result = run_autoprov(["main.py"], tmp_path, engine=engine, options=["--filter", "typos.yaml", "--debug", "filter"])
    assert result.returncode == 0, result.stderr
    warnings = warnings_of(result.stderr)
    assert warnings[0] == "autoprov: filter: warning: typos.yaml:2: module pattern 'toy.cor' matches no importable module: there is no module 'toy.cor'"
    assert "autoprov: filter: warning: typos.yaml:3: leaf has no argument 'scael' (its arguments: x, scale)" in warnings
    assert "autoprov: filter: warning: typos.yaml:5: Base has no attribute 'sise' (read as self.sise)" in warnings
    assert "autoprov: filter: warning: typos.yaml:7: base class 'toy.core.Bsae' does not exist (toy.core is imported and has no such class)" in warnings
    assert not any("typos.yaml:10" in line for line in warnings)  # a rule shared by two functions: each has one name
    assert len(warnings) == len(set(warnings))  # each said once


def test_a_run_whose_filters_matched_nothing_says_so(tmp_path: Path) -> None:
    (tmp_path / "nothing.yaml").write_text("activities:\n  - function: toy.core:never_called\n")
    (tmp_path / "main.py").write_text("from toy.core import leaf\nleaf(1)\n")
    done = autoprov(["--store", str(tmp_path / ".prov"), "--filter", "nothing.yaml", "main.py"], tmp_path)
    assert done.returncode == 0, done.stderr
    last = done.stderr.splitlines()[-1]
    assert ": 0 activities (the filters nothing.yaml matched no call: see `autoprov filters check`, or run with --debug filter), " in last
    done = autoprov(["--store", str(tmp_path / ".prov"), "--filter", "none", "main.py"], tmp_path)
    assert ": 0 activities (no filter was used: give --filter or --match), " in done.stderr.splitlines()[-1]
