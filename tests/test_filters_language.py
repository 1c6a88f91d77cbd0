"""The filter language end to end on a small package: composition, matching, PIG 17, explain."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoprov.filtering.compiler import Entry, FunctionSelection, MethodSelection
from autoprov.filtering.matcher import FilterMatcher
from autoprov.filtering.rules import Rule
from autoprov.filtering.locate import FilterRef, load, requested
from autoprov.filtering import build_matcher

TESTS = Path(__file__).parent
DATA = TESTS / "data" / "filters"
PKG = DATA / "pkg"
PIG17 = TESTS.parent.parent / "shared" / "reference" / "pig17-prototype-definition.yaml"


@pytest.fixture
def photonpipe(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.syspath_prepend(str(PKG))
    import photonpipe

    return photonpipe


def matcher_for(*specs: str, debug: bool = False, stream=None) -> FilterMatcher:
    entries = [entry for spec in specs for entry in load(FilterRef(spec, "test", DATA), use_cache=False)]
    return FilterMatcher(entries, sources=list(specs), debug=debug, stream=stream)


def decide(matcher: FilterMatcher, function) -> object:
    function = getattr(function, "__func__", function)
    return matcher.decide(function.__code__, function.__globals__)


def test_function_and_subclass_selection(photonpipe) -> None:
    matcher = matcher_for("photonpipe.yaml")
    read = decide(matcher, photonpipe.read_events)
    assert read.name == "photonpipe.read_events" and read.rule_id == "photonpipe.yaml:6"
    assert read.parameters == () and read.used[0].kind == "File" and read.used[0].entity_type == "EventList"
    run = decide(matcher, photonpipe.Calibrate.run)
    assert run.name == "photonpipe.Calibrate.run" and run.self_parameters == ("gain",) and run.nested is False
    assert run.description["activity"] == {"description": "One pipeline stage"}
    assert decide(matcher, photonpipe.Calibrate._clean) is None
    assert decide(matcher, photonpipe.Stage.run) is None  # excluded: the file's excludes come last


def test_user_subclass_in_main_is_matched(photonpipe) -> None:
    namespace = {"__name__": "__main__", "photonpipe": photonpipe}
    exec("class Square(photonpipe.Stage):\n    def run(self, events):\n        return events\n", namespace)
    rule = decide(matcher_for("photonpipe.yaml"), namespace["Square"].run)
    assert rule is not None and rule.name == "__main__.Square.run"


def test_later_filters_override_earlier(photonpipe, tmp_path: Path) -> None:
    override = tmp_path / "override.yaml"
    override.write_text("activities:\n  - function: photonpipe:Stage.run\n    nested: true\n")
    matcher = FilterMatcher([e for spec in (str(DATA / "photonpipe.yaml"), str(override))
                             for e in load(FilterRef(spec, "test", tmp_path), use_cache=False)])
    assert decide(matcher, photonpipe.Stage.run).rule_id == f"{override}:2"
    assert "overrides exclude" in matcher.explain(photonpipe.Stage.run.__code__, photonpipe.Stage.run.__globals__)


def test_may_match_module_limits_the_fallback_engines(photonpipe) -> None:
    matcher = matcher_for("photonpipe.yaml")
    assert matcher.may_match_module("photonpipe") and matcher.may_match_module("__main__")
    assert not matcher.may_match_module("json.decoder")


def test_debug_prints_matched_and_excluded_decisions(photonpipe) -> None:
    stream = io.StringIO()
    matcher = matcher_for("photonpipe.yaml", debug=True, stream=stream)
    for function in (photonpipe.Calibrate.run, photonpipe.Stage.run, photonpipe.Calibrate._clean):
        decide(matcher, function)
    assert stream.getvalue().splitlines() == [
        "autoprov: filter: activity photonpipe.Calibrate.run (photonpipe.yaml:11: run of Calibrate, a subclass of photonpipe.Stage)",
        "autoprov: filter: excluded photonpipe.Stage.run (photonpipe.yaml:24: 'photonpipe:Stage.run')",
    ]


def test_composition_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "project"
    (project / "sub").mkdir(parents=True)
    (project / "pyproject.toml").write_text('[tool.autoprov]\nfilters = ["team.yaml", "gammapy"]\n')
    environ = {"AUTOPROV_FILTERS": os.pathsep.join(["env1.yaml", "env2.yaml"])}
    refs = requested(["cli.yaml"], cwd=project / "sub", environ=environ)
    assert [(ref.spec, ref.origin) for ref in refs] == [
        ("team.yaml", str(project / "pyproject.toml")),
        ("gammapy", str(project / "pyproject.toml")),
        ("env1.yaml", "AUTOPROV_FILTERS"),
        ("env2.yaml", "AUTOPROV_FILTERS"),
        ("cli.yaml", "--filter"),
    ]
    assert refs[0].base == project  # pyproject paths are relative to the pyproject


def test_gammapy_is_the_default_only_when_nothing_is_asked(tmp_path: Path) -> None:
    assert [ref.spec for ref in requested([], cwd=tmp_path, environ={})] == ["gammapy"]
    assert [ref.spec for ref in requested(["none"], cwd=tmp_path, environ={})] == ["none"]
    assert build_matcher(["none"], ["json:*"]).sources == ["none", "--match json:*"]


def test_match_patterns_work_alongside_filters(photonpipe) -> None:
    matcher = build_matcher([str(DATA / "photonpipe.yaml")], ["photonpipe:Calibrate._clean"])
    assert decide(matcher, photonpipe.Calibrate._clean).rule_id == "photonpipe:Calibrate._clean"
    assert decide(matcher, photonpipe.read_events).rule_id.endswith("photonpipe.yaml:6")


def test_cache_skips_validation_and_gives_the_same_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOPROV_CACHE_DIR", str(tmp_path))
    fresh = load(FilterRef("photonpipe.yaml", "test", DATA))
    assert len(list(tmp_path.glob("*.json"))) == 1
    cached = load(FilterRef("photonpipe.yaml", "test", DATA))
    assert [e.rule for e in cached] == [e.rule for e in fresh]
    assert [e.origin for e in cached] == [e.origin for e in fresh]


def test_pig17_definition_is_converted() -> None:
    entries = load(FilterRef(str(PIG17), "test", DATA), use_cache=False)
    patterns = [text for entry in entries for text, _, _ in entry.selection.patterns]
    assert patterns == [f"gammapy.analysis.*:Analysis.{name}" for name in
                        ("get_observations", "get_datasets", "set_models", "run_fit", "get_flux_points")]
    observations, datasets, models, fit, flux_points = (entry.rule for entry in entries)
    assert observations.self_parameters == ("config.observations.datastore", "config.observations.filters")
    assert observations.description["parameters"]["config.observations.datastore"]["name"] == "datastore_path"
    store = observations.used[0]
    assert (store.role, store.source, store.kind, store.index) == ("datastore", "self.config.observations.datastore", "FileCollection", "obs-index.fits.gz")
    selected = observations.generated[0]
    assert (selected.source, selected.kind, selected.members) == ("self.observations", "Collection", "list")
    assert "config.datasets.stack_datasets" in datasets.self_parameters
    assert models.parameters == ("model", "filename") and models.used[0].kind == "File"
    assert fit.parameters == ("optimize_opts",) and [s.role for s in fit.generated] == [
        "fit_object", "fit_result", "fitted_model", "datasets_with_fitted_model"]
    assert flux_points.parameters == ("source",)


def test_pig17_later_key_names(tmp_path: Path) -> None:
    (tmp_path / "renamed.yaml").write_text(
        "activity_descriptions:\n  run_fit:\n    usage:\n      - {role: datasets, entity_description: Datasets, value: datasets}\n"
        "entity_descriptions:\n  Datasets: {type: PythonObject}\nagents:\n  someone: {email: a@b.c}\n")
    (entry,) = load(FilterRef("renamed.yaml", "test", tmp_path), use_cache=False)
    assert entry.rule.used[0].entity_type == "Datasets" and entry.rule.used[0].source == "self.datasets"


def run_autoprov(*args: str, cwd: Path, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "autoprov", *args], cwd=cwd, capture_output=True, text=True, env=env)


def test_check_command() -> None:
    done = run_autoprov("filters", "check", str(DATA / "photonpipe.yaml"), "gammapy", cwd=DATA)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"{DATA / 'photonpipe.yaml'}: ok, 3 activity rules, 1 excludes"
    assert lines[2] == f"  {DATA / 'photonpipe.yaml'}:11  include  run of photonpipe.Stage"
    assert any(line.startswith("gammapy: ok, ") for line in lines)


def test_explain_command() -> None:
    done = run_autoprov("filters", "explain", "photonpipe.Calibrate.run", "--filter", "photonpipe.yaml", cwd=DATA,
                        env_extra={"PYTHONPATH": str(PKG)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "filters: photonpipe.yaml",
        "photonpipe.Calibrate.run: activity (rule photonpipe.yaml:11: run of Calibrate, a subclass of photonpipe.Stage)",
        "  nested activities: not recorded",
        "  parameters: none",
        "  parameters of self: gain",
        "  used: events <- events (PythonObject)",
        "  generated: events <- return (PythonObject)",
    ]
    missing = run_autoprov("filters", "explain", "photonpipe.nothing", "--filter", "none", cwd=DATA, env_extra={"PYTHONPATH": str(PKG)})
    assert missing.returncode == 2
    assert missing.stderr == "autoprov: error: photonpipe.nothing: photonpipe has no attribute path 'nothing' [AP002]\n"


def test_run_records_the_selected_activities(tmp_path: Path) -> None:
    (tmp_path / "events.txt").write_text("1.0\n-1\n3.0\n")
    script = TESTS / "scripts" / "filters_pipeline.py"
    done = run_autoprov("--filter", str(DATA / "photonpipe.yaml"), "--store", str(tmp_path / "store"), "--debug", "filter,events",
                        str(script), "events.txt", "out.txt", cwd=tmp_path, env_extra={"PYTHONPATH": str(PKG)})
    assert done.returncode == 0, done.stderr
    events = [json.loads(line.split(": ", 1)[1]) for line in done.stderr.splitlines() if line.startswith("autoprov-event: ")]
    acts = {e[1]: (e[3], e[7]) for e in events if e[0] == "act"}
    assert sorted(name for name, _ in acts.values()) == [
        "__main__.Square.run", "photonpipe.Calibrate.run", "photonpipe.read_events", "photonpipe.write_table"]
    by_name = {name: (act, params) for act, (name, params) in acts.items()}
    assert by_name["photonpipe.Calibrate.run"][1] == {"gain": 2.0}
    assert by_name["photonpipe.write_table"][1] == {"overwrite": True}
    fileargs = {(e[1], e[2], e[3], e[4]) for e in events if e[0] == "filearg"}
    assert (by_name["photonpipe.read_events"][0], "events_file", str(tmp_path / "events.txt"), "used") in fileargs
    assert (by_name["photonpipe.write_table"][0], "table", str(tmp_path / "out.txt"), "generated") in fileargs
    gen = {(e[1], e[2]): e[3] for e in events if e[0] == "gen"}
    use = {(e[1], e[2]): e[3] for e in events if e[0] == "use"}
    calibrate, square = by_name["photonpipe.Calibrate.run"][0], by_name["__main__.Square.run"][0]
    assert use[(square, "events")] == gen[(calibrate, "events")]  # linked by identity
    assert "autoprov: filter: activity __main__.Square.run" in done.stderr


MODULE_PARTS = ["gammapy", "makers", "maps", "__main__", "numpy", "gam", "x"]
module_names = st.lists(st.sampled_from(MODULE_PARTS), min_size=1, max_size=3).map(".".join)
module_globs = st.one_of(
    module_names,
    st.builds(lambda name, tail: name + tail, module_names, st.sampled_from(["*", ".*", "?", "[am]*", "*.maps"])),
    st.sampled_from(["*", "gam*", "[gn]*.maps", "?ammapy.*"]),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(module_globs, st.booleans()), min_size=1, max_size=8), st.lists(module_names, min_size=1, max_size=6))
def test_the_module_index_only_prunes_entries_that_cannot_match(globs, modules) -> None:
    """The top-level-package index must return exactly the entries a scan of every entry would."""
    entries = []
    for glob, as_method_rule in globs:
        selection = (MethodSelection(["run"], "x.Base", [glob]) if as_method_rule
                     else FunctionSelection([f"{glob}:*"]))
        entries.append(Entry(selection, Rule(name="", rule_id=glob), glob))
    entries.append(Entry(MethodSelection(["run"], "x.Base", None), None, "any module"))
    matcher = FilterMatcher(entries)
    for module in modules:
        scanned = tuple(entry for entry in reversed(entries) if entry.selection.may_match_module(module))
        assert [entry for entry, _ in matcher._for_module(module)] == list(scanned)
