"""The shipped gammapy filter against the installed gammapy: nothing stale, real analyses recorded."""

from __future__ import annotations

import fnmatch
import importlib
import inspect
import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

from autoprov.filtering.matcher import FilterMatcher
from autoprov.filtering.locate import FilterRef, load

REPO = Path(__file__).parent.parent
EXAMPLES = REPO / "examples"
GAMMAPY_DATA = (REPO.parent / "shared" / "data" / "gammapy-data").resolve()

pytestmark = pytest.mark.gammapy


# the filter's carrier rules (a catalog's positions into regions) name these besides gammapy
CARRIER_MODULES = ("astropy.utils.shapes", "regions.shapes.circle")


def _module_names():
    gammapy = importlib.import_module("gammapy")
    yield from (info.name for info in pkgutil.walk_packages(gammapy.__path__, "gammapy."))
    yield from CARRIER_MODULES


def installed_functions():
    """(module, qualname, globals, code) of every function, method and property accessor defined in
    gammapy's modules (and the carrier modules the filter names)."""
    for name in _module_names():
        if ".tests" in name or name.endswith(".conftest"):
            continue
        try:
            module = importlib.import_module(name)
        except Exception:  # optional dependencies (ray, ...) of a few modules
            continue
        for value in vars(module).values():
            if inspect.isfunction(value) and value.__module__ == name:
                yield name, value.__qualname__, vars(module), value.__code__
            elif inspect.isclass(value) and value.__module__ == name:
                for member in vars(value).values():
                    functions = [getattr(member, "__func__", member)]
                    if isinstance(member, property):  # getters and setters (a rule may select one)
                        functions = [f for f in (member.fget, member.fset, member.fdel) if f is not None]
                    for function in functions:
                        if inspect.isfunction(function) and function.__module__ == name:
                            yield name, function.__qualname__, vars(module), function.__code__


def test_no_pattern_of_the_gammapy_filter_is_stale() -> None:
    entries = load(FilterRef("gammapy", "test", REPO), use_cache=False)
    matcher = FilterMatcher(entries)
    matched: dict[str, set[str]] = {}
    for module, qualname, module_globals, code in installed_functions():
        for entry, detail in matcher.matches(module, qualname, module_globals, code):
            matched.setdefault(entry.origin, set()).add(f"{module}.{qualname}")
    unmatched = []
    for entry in entries:
        patterns = getattr(entry.selection, "patterns", None)
        if patterns is None:  # methods of a base class
            if not matched.get(entry.origin):
                unmatched.append(entry.origin)
            continue
        names = matched.get(entry.origin, set())
        for text, _, _ in patterns:
            if not any(_matches(text, name) for name in names):
                unmatched.append(f"{entry.origin} {text}")
    assert unmatched == []
    assert len(matched) == len(entries)


def _matches(pattern: str, full_name: str) -> bool:
    """Does ``module:qualname`` glob ``pattern`` cover ``full_name`` for some module/qualname split?"""
    module_glob, qualname_glob = pattern.split(":")
    parts = full_name.split(".")
    return any(fnmatch.fnmatchcase(".".join(parts[:cut]), module_glob) and fnmatch.fnmatchcase(".".join(parts[cut:]), qualname_glob)
               for cut in range(1, len(parts)))


def run_example(script: str, tmp_path: Path) -> tuple[list, dict[int, dict]]:
    env = dict(os.environ, GAMMAPY_DATA=str(GAMMAPY_DATA), AUTOPROV_CACHE_DIR=str(tmp_path / "cache"))
    done = subprocess.run([sys.executable, "-m", "autoprov", "--store", str(tmp_path / "store"), str(EXAMPLES / script),
                           "--outdir", str(tmp_path / "out")], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    listing = subprocess.run([sys.executable, "-m", "autoprov", "events", "latest", "--store", str(tmp_path / "store")],
                             cwd=tmp_path, capture_output=True, text=True, check=True)
    events = [json.loads(line) for line in listing.stdout.splitlines()]
    acts: dict[int, dict] = {}
    for event in events:
        if event[0] == "act":
            acts[event[1]] = {"name": event[3].rsplit(".", 2)[-2] + "." + event[3].rsplit(".", 1)[-1], "parent": event[2],
                              "params": event[7], "used": {}, "generated": {}, "files": {}}
        elif event[0] in ("use", "gen") and event[1] in acts:
            acts[event[1]]["used" if event[0] == "use" else "generated"][event[2]] = event[3]
        elif event[0] == "filearg":
            acts[event[1]]["files"][event[2]] = (event[3], event[4])
        elif event[0] == "end":
            acts[event[1]]["status"] = event[3]
    return events, acts


def named(acts: dict[int, dict], name: str) -> list[dict]:
    return [act for act in acts.values() if act["name"] == name]


@pytest.mark.slow
def test_crab_1d_records_each_step(tmp_path: Path) -> None:
    events, acts = run_example("crab_1d.py", tmp_path)
    assert all(act["status"] == "completed" for act in acts.values())
    assert len(acts) <= 60  # tens of activities, not thousands
    (store,) = named(acts, "DataStore.from_dir")
    assert store["files"]["data_store"] == (str(GAMMAPY_DATA / "hess-dl3-dr1"), "used")
    (select,) = named(acts, "DataStore.get_observations")
    assert select["params"]["obs_id"] == [23523, 23526, 23559, 23592]
    assert select["used"]["data_store"] == store["generated"]["data_store"]
    (mask,) = named(acts, "Map.read")
    assert mask["files"]["file"] == (str(GAMMAPY_DATA / "joint-crab" / "exclusion" / "exclusion_mask_crab.fits.gz"), "used")
    spectra = named(acts, "SpectrumDatasetMaker.run")
    assert len(spectra) == 4 and set(spectra[0]["params"]) == {"selection", "containment_correction", "use_region_center", "background_oversampling"}
    reflected = named(acts, "ReflectedRegionsBackgroundMaker.run")
    assert len(reflected) == 4 and "exclusion_mask" in reflected[0]["used"]
    assert all(r["used"]["dataset"] == s["generated"]["dataset"] for r, s in zip(reflected, spectra))
    safe = named(acts, "SafeMaskMaker.run")
    assert len(safe) == 4 and safe[0]["params"]["methods"] and "offset_max" in safe[0]["params"]
    (fit,) = named(acts, "Fit.run")
    assert fit["params"]["backend"] == "minuit" and {"fit_result", "fitted_models"} <= set(fit["generated"])
    assert {a["name"] for a in acts.values() if a["parent"] == [k for k, v in acts.items() if v is fit][0]} == {"Fit.optimize", "Fit.covariance"}
    (points,) = named(acts, "FluxPointsEstimator.run")
    assert points["params"]["energy_edges"]["unit"] == "TeV"
    assert not [a for a in acts.values() if a["parent"] == [k for k, v in acts.items() if v is points][0]]  # nested: false
    (written,) = named(acts, "FluxPoints.write")
    assert written["files"]["file"] == (str(tmp_path / "out" / "flux_points.fits"), "generated")
    assert written["used"]["flux_points"] == points["generated"]["estimate"]


@pytest.mark.slow
def test_crab_3d_analysis_records_the_high_level_steps(tmp_path: Path) -> None:
    events, acts = run_example("crab_3d_analysis.py", tmp_path)
    assert all(act["status"] == "completed" for act in acts.values())
    assert len(acts) <= 60
    (read,) = named(acts, "AnalysisConfig.read")
    assert read["files"]["config_file"][0] == str(EXAMPLES / "crab_3d_config.yaml")
    (observations,) = named(acts, "Analysis.get_observations")
    assert observations["params"]["config.observations"]["obs_ids"] == [23523, 23526, 23559, 23592]
    children = {a["name"] for a in acts.values() if a["parent"] == [k for k, v in acts.items() if v is observations][0]}
    assert children == {"DataStore.from_dir", "DataStore.get_observations"}
    (datasets,) = named(acts, "Analysis.get_datasets")
    assert datasets["params"]["config.datasets"]["type"] == "3d"
    assert datasets["used"]["observations"] == observations["generated"]["observations"]
    (maker,) = named(acts, "DatasetsMaker.run")
    assert maker["params"]["stack_datasets"] is True
    assert len(named(acts, "MapDatasetMaker.run")) == 4 and len(named(acts, "FoVBackgroundMaker.run")) == 4
    (run_fit,) = named(acts, "Analysis.run_fit")
    assert run_fit["params"]["config.fit"]["fit_range"] == {"min": "1.0 TeV", "max": "10.0 TeV"}
    assert {"fit_result", "models"} <= set(run_fit["generated"])
    (fit,) = named(acts, "Fit.run")
    assert acts[fit["parent"]] is run_fit
    (points,) = named(acts, "Analysis.get_flux_points")
    assert points["params"]["config.flux_points"]["source"] == "crab"
    (written,) = named(acts, "FluxPoints.write")
    assert written["files"]["file"][1] == "generated"
