"""Compile a one-file C extension for the interpreter running this script (exit 1 if it cannot).

    python benchmarks/floors/build.py OUTDIR                       the floors (_floors.c) into OUTDIR
    python benchmarks/floors/build.py OUTDIR SOURCE.c PACKAGE/NAME  another source (a snapshot's native core)

Run with the interpreter being benchmarked, so the extension matches it; uses the compiler and
flags Python was built with (sysconfig), not setuptools, which a venv need not have.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import sysconfig
from pathlib import Path

HERE = Path(__file__).resolve().parent


def build(source: Path, target: Path) -> Path:
    """Compile ``source`` into ``target`` + the interpreter's extension suffix."""
    target = target.with_name(target.name + sysconfig.get_config_var("EXT_SUFFIX"))
    target.parent.mkdir(parents=True, exist_ok=True)
    compiler = shlex.split(sysconfig.get_config_var("CC") or "cc")
    flags = shlex.split(sysconfig.get_config_var("CCSHARED") or "-fPIC")
    link = shlex.split(sysconfig.get_config_var("LDSHARED") or "cc -shared")[1:]
    include = sysconfig.get_paths()["include"]
    subprocess.run([*compiler, *flags, *link, "-O2", f"-I{include}", str(source), "-o", str(target)], check=True,
                   capture_output=True)
    return target


if __name__ == "__main__":
    outdir = Path(sys.argv[1])
    source, name = (Path(sys.argv[2]), sys.argv[3]) if len(sys.argv) > 3 else (HERE / "_floors.c", "_floors")
    try:
        build(source, outdir / name)
    except (OSError, subprocess.CalledProcessError) as error:
        print(f"cannot build {source.name}: {error}", file=sys.stderr)
        sys.exit(1)
    print(outdir)
