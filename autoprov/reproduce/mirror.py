"""The working directory a re-run runs in: a mirror of the original one, outputs left out.

A program writes its outputs by paths relative to its working directory (``--outdir out``,
``"flux_points.fits"``), by paths given as arguments, or by paths it computes from ``__file__``.
To send them elsewhere without changing the program, the re-run starts in a *mirror* of the
original working directory: every directory that holds an output of the run is a real directory
there, and every other entry (inputs, configuration, the script, sub-packages) is a symbolic link
to the original.  The outputs themselves are absent, so the program writes them afresh inside the
mirror, at the same relative paths, where :mod:`.compare` finds them.

Paths that point outside the original working directory cannot be redirected this way: the
re-run refuses to start when an output of the run lies there (it would be overwritten), and
:mod:`.guard` refuses, while the re-run executes, any write through a link into the original.
"""

from __future__ import annotations

import os
from pathlib import Path


def inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def build(original: Path, mirror: Path, outputs: list[str], skip: tuple[Path, ...] = ()) -> None:
    """Fill ``mirror`` (an empty directory) from ``original``; ``outputs`` are relative paths."""
    files = {Path(path) for path in outputs}
    folders = {parent for path in files for parent in path.parents if str(parent) != "."}
    skipped = {os.path.realpath(path) for path in skip}

    def fill(relative: Path) -> None:
        target = mirror / relative
        target.mkdir(parents=True, exist_ok=True)
        source = original / relative
        try:
            entries = sorted(os.scandir(source), key=lambda entry: entry.name)
        except FileNotFoundError:
            return  # an output folder the run removed again
        for entry in entries:
            path = relative / entry.name
            if path in files or os.path.realpath(entry.path) in skipped:
                continue
            if path in folders and entry.is_dir():
                fill(path)
            else:
                os.symlink(entry.path, target / entry.name)

    fill(Path())
    for folder in sorted(folders):  # an output folder that no longer exists in the original
        (mirror / folder).mkdir(parents=True, exist_ok=True)
