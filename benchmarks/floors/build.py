"""Compile ``_floors.c`` for one interpreter into a folder; prints the folder (exit 1 if no compiler).

Run with the interpreter being benchmarked, so the extension matches it:
``python benchmarks/floors/build.py OUTDIR``.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import sysconfig
from pathlib import Path

HERE = Path(__file__).resolve().parent


def build(outdir: Path) -> Path:
    outdir.mkdir(parents=True, exist_ok=True)
    target = outdir / f"_floors{sysconfig.get_config_var('EXT_SUFFIX')}"
    compiler = shlex.split(sysconfig.get_config_var("CC") or "cc")
    flags = shlex.split(sysconfig.get_config_var("CCSHARED") or "-fPIC")
    link = shlex.split(sysconfig.get_config_var("LDSHARED") or "cc -shared")[1:]
    command = [*compiler, *flags, *link, "-O2", f"-I{sysconfig.get_paths()['include']}", str(HERE / "_floors.c"), "-o", str(target)]
    subprocess.run(command, check=True, capture_output=True)
    return outdir


if __name__ == "__main__":
    try:
        print(build(Path(sys.argv[1])))
    except (OSError, subprocess.CalledProcessError) as error:
        print(f"cannot build the floors: {error}", file=sys.stderr)
        sys.exit(1)
