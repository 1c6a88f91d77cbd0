"""The README's commands, as the tests run them: verbatim, one shell line at a time."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import REPO, environment

README = REPO / "README.md"


def commands(heading: str) -> list[str]:
    """The lines of the ```bash blocks under the README's ``## <heading>``."""
    text = README.read_text()
    section = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return [line for block in re.findall(r"```bash\n(.*?)```", section, re.S) for line in block.splitlines() if line.strip()]


def run(line: str, cwd: Path) -> subprocess.CompletedProcess:
    """One README line in bash, with this venv's ``autoprov`` first on PATH."""
    env = environment()
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return subprocess.run(["bash", "-c", line], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
