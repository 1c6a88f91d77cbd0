"""Recording reads objects without leaving anything on them (autoprov/recorder/untouched.py).

A lazily cached attribute (astropy's ``lazyproperty``, ``functools.cached_property``) that
autoprov's read fills stays in the program's object: crab_1d then deep-copied every region's sky
coordinate with a representation cache it never made (+1.8 % ``id()`` calls in its copies).
"""

from __future__ import annotations

import subprocess
import sys
from functools import cached_property
from pathlib import Path

from astropy.coordinates import SkyCoord
from gammapy.maps import MapAxis, RegionGeom

from autoprov.recorder.untouched import untouched
from autoprov.recorder.values import describe_object, render
from conftest import environment, run_autoprov


class Lazy:
    def __init__(self) -> None:
        self.kept = 1

    @cached_property
    def made(self) -> int:
        return self.kept + 1

    def __repr__(self) -> str:
        return f"Lazy({self.made})"


def test_a_read_leaves_no_cache_behind() -> None:
    lazy = Lazy()
    lazy.kept = 2
    with untouched(lazy):
        assert repr(lazy) == "Lazy(3)"
    assert vars(lazy) == {"kept": 2}
    lazy.made  # the program's own read caches, and a later read by autoprov keeps it
    with untouched(lazy):
        repr(lazy)
    assert vars(lazy) == {"kept": 2, "made": 3}


def test_rendering_gammapy_and_astropy_objects_changes_none_of_them() -> None:
    axis = MapAxis.from_energy_bounds("0.1 TeV", "40 TeV", nbin=3, name="energy")
    geom = RegionGeom.create("icrs;circle(83.63, 22.01, 0.11)", axes=[axis])
    coord = SkyCoord(83.63, 22.01, unit="deg", frame="icrs")
    coord.frame.cache["representation"]  # a cache the program made, empty
    before = (set(vars(axis)), set(vars(geom)), set(vars(coord.frame)), dict(coord.frame.cache["representation"]))
    assert render(axis)["max"] == 40.0 and render(axis)["nbin"] == 3
    render(geom)
    assert "SkyCoord" in describe_object(coord)["repr"]
    after = (set(vars(axis)), set(vars(geom)), set(vars(coord.frame)), dict(coord.frame.cache["representation"]))
    assert after == before


PROGRAM = """
import copy, sys
from astropy.coordinates import SkyCoord
from steps import point_at
coord = SkyCoord(83.63, 22.01, unit="deg", frame="icrs")
point_at(coord)
seen = []
sys.addaudithook(lambda event, args: seen.append(1) if event == "builtins.id" else None)
copy.deepcopy(coord)
print(sorted(vars(coord.frame)), len(seen))
"""


def test_the_programs_deep_copies_are_unchanged(tmp_path: Path) -> None:
    """The user's path: a recorded call gets a sky coordinate, then the program deep-copies it."""
    (tmp_path / "steps.py").write_text("def point_at(target):\n    return target\n")
    (tmp_path / "main.py").write_text(PROGRAM)
    plain = subprocess.run([sys.executable, "main.py"], cwd=tmp_path, capture_output=True, text=True, env=environment(), timeout=120)
    result = run_autoprov(["main.py"], tmp_path, options=["--match", "steps:point_at"])
    assert plain.returncode == 0 and result.returncode == 0, result.stderr
    assert [e[3] for e in result.of_kind("act")] == ["steps.point_at"]
    assert result.stdout == plain.stdout


class Picky(type):
    """A metaclass whose classes cannot be hashed (``__eq__`` without ``__hash__``)."""

    def __eq__(cls, other: object) -> bool:
        raise AssertionError("autoprov compared a class of the program")


class Odd(metaclass=Picky):
    @cached_property
    def made(self) -> int:
        return 1

    def __repr__(self) -> str:
        return f"Odd({self.made})"


def test_objects_of_any_class_are_read_without_calling_the_program() -> None:
    odd = Odd()
    with untouched(odd):
        assert repr(odd) == "Odd(1)"
    assert vars(odd) == {}
