"""The README's commands, as the tests run them: verbatim, one shell line at a time."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import REPO, environment

README = REPO / "README.md"


def commands(heading: str) -> list[str]:
    """The commands of the ```bash blocks under the README's ``## <heading>``, as the docs tests read them (Sybil)."""
    return [command for block in blocks(heading) for command in block]


def blocks(heading: str) -> list[list[str]]:
    """The commands of each ```bash block under the README's ``## <heading>``, one list a block."""
    from docs_examples import commands_of, evaluate_bash, parse

    text = README.read_text()
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    end = len(text) if end < 0 else end
    return [commands_of(example.parsed) for example in parse(README)
            if start <= example.region.start < end and example.region.evaluator is evaluate_bash]


def run(line: str, cwd: Path) -> subprocess.CompletedProcess:
    """One README line in bash, with this venv's ``autoprov`` first on PATH."""
    env = environment()
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return subprocess.run(["bash", "-c", line], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
