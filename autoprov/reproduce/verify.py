"""Are a run's files still what the run read and wrote?  Their digests, recomputed now.

Inputs are the files as the run found them (version 0), outputs the last version of every file it
left (:mod:`autoprov.export.products`), and the program is the script as it was executed.  Each is
hashed again with the run's own algorithm and compared with the recorded digest.
"""

from __future__ import annotations

import os
from typing import NamedTuple

from ..export.model import RunModel
from ..export.products import FileVersion, inputs, outputs, program
from ..recorder.files import hash_file

SAME, CHANGED, MISSING, UNHASHED = "same", "changed", "missing", "not hashed"


class Check(NamedTuple):
    """One file of the run and how it compares with the record."""

    kind: str  # "program" | "input" | "output"
    file: FileVersion
    state: str  # SAME | CHANGED | MISSING | UNHASHED
    now: str | None  # the digest computed now

    @property
    def changed(self) -> bool:
        return self.state in (CHANGED, MISSING)


def check(kind: str, item: FileVersion) -> Check:
    if not os.path.exists(item.path):
        return Check(kind, item, MISSING, None)
    if not item.digest or not item.algorithm or item.algorithm == "none":
        return Check(kind, item, UNHASHED, None)
    now, _, _ = hash_file(item.path, item.algorithm)
    return Check(kind, item, SAME if now == item.digest else CHANGED, now)


def check_inputs(model: RunModel) -> list[Check]:
    """The program and the inputs, each checked."""
    script = program(model)
    checks = [check("program", script)] if script is not None else []
    return checks + [check("input", item) for item in inputs(model)]


def check_run(model: RunModel) -> list[Check]:
    """The program, the inputs and the outputs, each checked."""
    return check_inputs(model) + [check("output", item) for item in outputs(model)]
