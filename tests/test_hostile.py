"""Hostile input never stops autoprov: every reader of untrusted input fails with one line and an
error id, bounded in time and memory, and a corrupt run never hides the others (docs/reliability.md).

The readers are the filter parser, the event-log reader and everything built on it (model, PROV
serialisers, graph, ``autoprov list/show/events/export``).  Hand-made cases first, then hypothesis
feeds generated filters and event logs to them for a bounded time.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autoprov.errors import FilterError, RecordError
from autoprov.export.renderers.dot import to_dot
from autoprov.export.model import load
from autoprov.export.outputs import serialize
from autoprov.export.renderers.provjson import write_model, write_statements
from autoprov.export.statements import namespaces, statements
from autoprov.cli.runs import describe
from autoprov.filtering.parse import parse
from autoprov.filtering.validate import validate
from autoprov.store import run_dirs
from conftest import environment, wait_for_outputs

ONE_LINE_ERROR = re.compile(r"^autoprov: error: .* \[AP00[0-9]\]\n$")


def autoprov(*args: str, cwd: Path, timeout: float = 60, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autoprov", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=environment(env))


def record(tmp_path: Path, source: str, store: Path, *options: str) -> Path:
    script = tmp_path / "main.py"
    script.write_text(source)
    done = autoprov("--store", str(store), "--quiet", "--match", "toy.*:*", *options, str(script), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return run_dirs(store)[-1]


# -- filters -------------------------------------------------------------------------------------

@pytest.mark.parametrize("size", [40_000, 400_000])
def test_deeply_nested_filter_is_one_line_at_once(tmp_path: Path, size: int) -> None:
    (tmp_path / "deep.yaml").write_text("activities: " + "[" * size)
    (tmp_path / "main.py").write_text("open('ran', 'w').write('ran')\n")
    started = time.monotonic()
    for command in (["filters", "check", "deep.yaml"], ["--filter", "deep.yaml", "main.py"]):
        done = autoprov(*command, cwd=tmp_path)
        assert done.returncode == 2 and ONE_LINE_ERROR.match(done.stderr), done.stderr
        assert "nested more than 32 levels" in done.stderr and "[AP002]" in done.stderr
    assert time.monotonic() - started < 10  # it was 20 s of CPU (40 KB) and 3.5 min (400 KB)
    assert not (tmp_path / "ran").exists()


def test_deep_block_nesting_is_refused_before_composing(tmp_path: Path) -> None:
    text = "activities:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(300))
    with pytest.raises(FilterError, match=r"deep.yaml:33:65: nested more than 32 levels deep"):
        parse(text.encode(), "deep.yaml")


# -- event logs and stores -----------------------------------------------------------------------

GOOD = "from toy.core import outer\nfrom toy.io import write_text\nwrite_text('a.txt', 'x')\nprint(outer(1))\n"


def corrupt_run(store: Path, name: str, lines: list[str | bytes]) -> Path:
    run = store / name
    run.mkdir(parents=True)
    with open(run / "events.jsonl", "wb") as out:
        for line in lines:
            out.write((line.encode() if isinstance(line, str) else line) + b"\n")
    return run


RUN_EVENT = json.dumps([["run", "x", 1_700_000_000_000_000_000, {"program": "hostile.py"}]])
CORRUPTIONS = {
    "binary": [os.urandom(200).replace(b"\n", b"")],
    "not_a_log": ['{"just": "json"}', "[1, 2, 3]"],
    "wrong_types": [RUN_EVENT, json.dumps([["act", "one", None, 5, "r", "t", "thread", []], ["end", 1, "later", 7, None]])],
    "huge_numbers": [RUN_EVENT, json.dumps([["act", 10**400, None, "f", "r", 10**30, "t", {}], ["exit", 10**40, "completed", 10**50, {}]])],
    "bad_digest": [RUN_EVENT, json.dumps([["act", 1, None, "f", "r", 1_700_000_000_000_000_001, "t", {}],
                                          ["file", 1, "read", "/x", 1_700_000_000_000_000_002, 0],
                                          ["digest", "/x", 0, "xxh3_128", "<not hex> \"quoted\"", 1, 1],
                                          ["digest", "/x", 0, "bad algorithm name!", "00ff", 1, 1]])],
    "cycles": [RUN_EVENT, json.dumps([["act", 1, 2, "f", "r", 1, "t", {}], ["act", 2, 1, "g", "r", 1, "t", {}], ["act", 2, None, "g", "r", 1, "t", {}]])],
    "deep_values": [RUN_EVENT, json.dumps([["act", 1, None, "f", "r", 1, "t", {"p": json.loads("[" * 200 + "]" * 200)}]])],
    "json_bomb": [RUN_EVENT, "[" * 100_000 + "]" * 100_000],
    "nan": [RUN_EVENT.replace('"hostile.py"', "NaN"), '[["act", 1, null, "f", "r", 1, "t", {"v": Infinity}]]'],
    "newer_version": [RUN_EVENT, json.dumps([["hologram", 1, 2, 3], ["act", 1, None, "f", "r", 1, "t", {}, "extra", "fields"]])],
}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two good runs and one run folder per corruption, in one store (made once for the module)."""
    folder = tmp_path_factory.mktemp("hostile")
    store = folder / "store"
    record(folder, GOOD, store)
    for index, (name, lines) in enumerate(CORRUPTIONS.items()):
        corrupt_run(store, f"20990101T0000{index:02d}000000-0-{name}", lines)
    record(folder, GOOD, store)
    return store


def cli(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    """``autoprov ARGV`` in this process (what the console script runs), with its output."""
    from autoprov.cli import main

    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_a_corrupt_run_never_hides_the_others(store: Path, tmp_path: Path) -> None:
    done = autoprov("list", "--store", str(store), cwd=tmp_path)  # a real process: nothing may escape
    assert done.returncode == 0 and done.stderr == "", done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2 + len(CORRUPTIONS)
    assert sum(" completed " in line for line in lines) == 2
    unreadable = [line for line in lines if " unreadable " in line]
    assert {line.split()[0].rsplit("-", 1)[1] for line in unreadable} == {"binary", "not_a_log"}
    assert all("[AP005]" in line for line in unreadable)


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_every_command_on_a_corrupt_run_is_one_line_or_works(store: Path, tmp_path: Path, name: str, capsys: pytest.CaptureFixture) -> None:
    (run,) = [p for p in store.iterdir() if p.name.endswith("-" + name)]
    for command in (["show", run.name], ["events", run.name], ["export", run.name, "--all", "--graph", "svg"],
                    ["export", run.name, "--format", "ttl", "-o", "-"], ["graph", run.name, "-o", str(tmp_path / "g.svg")]):
        status, _, err = cli(capsys, *command, "--store", str(store))  # an exception here fails the test
        if status != 0:
            assert status == 2 and ONE_LINE_ERROR.match(err) and "[AP005]" in err, (command, err)
    if name in ("wrong_types", "huge_numbers", "bad_digest", "cycles", "deep_values", "json_bomb"):
        _, shown, _ = cli(capsys, "show", run.name, "--store", str(store))
        assert "malformed event" in shown  # the skipped events are reported, not silent


def test_export_all_survives_a_malformed_digest(store: Path, capsys: pytest.CaptureFixture) -> None:
    (run,) = [p for p in store.iterdir() if p.name.endswith("-bad_digest")]
    status, _, err = cli(capsys, "export", run.name, "--all", "--store", str(store))
    assert status == 0, err
    assert (run / "provenance.ttl").is_file() and (run / "provenance.xml").is_file()


def test_show_into_a_closed_pipe_is_quiet(tmp_path: Path) -> None:
    store = tmp_path / "store"
    record(tmp_path, "from toy.core import outer\nfor i in range(3000):\n    outer(i)\n", store)
    for command in ("show latest", "events latest"):
        done = subprocess.run(f"{sys.executable} -m autoprov {command} --store {store} | head -1", shell=True, cwd=tmp_path,
                              capture_output=True, text=True, env=environment())
        assert done.stderr == "" and len(done.stdout.splitlines()) == 1, done.stderr


# -- graphs and the notes of the background export -----------------------------------------------

WRITE_COPY_REPLACE = "import os, shutil\nopen('a.txt', 'w').write('x')\nshutil.copy('a.txt', 'b.txt')\nos.replace('b.txt', 'c.txt')\n"


@pytest.mark.parametrize("mode", ["sync", "background"])
def test_write_copy_replace_draws(tmp_path: Path, mode: str) -> None:
    if shutil.which("dot") is None:
        pytest.fail("Graphviz `dot` is needed (.ci/run installs it)")
    run = record(tmp_path, WRITE_COPY_REPLACE, tmp_path / "store", "--export", mode, "--graph", "svg")
    wait_for_outputs(run, ("graph.svg",))
    assert (run / "graph.svg").read_bytes().startswith(b"<?xml")


def test_background_export_notes_are_recorded_and_shown(tmp_path: Path) -> None:
    without_dot = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if not os.path.exists(os.path.join(p, "dot")))
    (tmp_path / "main.py").write_text(GOOD)
    store = tmp_path / "store"
    done = autoprov("--store", str(store), "--quiet", "main.py", cwd=tmp_path, env={"PATH": without_dot})
    assert done.returncode == 0, done.stderr
    (run,) = run_dirs(store)
    wait_for_outputs(run, ("provenance.ttl",))
    deadline = time.monotonic() + 60
    while "export" not in json.loads((run / "notes.json").read_text() if (run / "notes.json").exists() else "{}"):
        assert time.monotonic() < deadline, "the background exporter recorded no notes"
        time.sleep(0.1)
    listed = autoprov("list", "--store", str(store), cwd=tmp_path).stdout
    assert "1 note" in listed
    shown = autoprov("show", "--store", str(store), cwd=tmp_path).stdout
    assert "note      export: graph image skipped: Graphviz `dot` not found" in shown


# -- the command line ----------------------------------------------------------------------------

def test_a_mistyped_command_is_a_usage_error(tmp_path: Path) -> None:
    done = autoprov("lsit", cwd=tmp_path)
    assert done.returncode == 2 and ONE_LINE_ERROR.match(done.stderr) and "did you mean 'list'" in done.stderr
    (tmp_path / "lsit").write_text("print('a script called lsit')\n")
    done = autoprov("--quiet", "--store", str(tmp_path / "store"), "lsit", cwd=tmp_path)
    assert done.returncode == 0 and done.stdout == "a script called lsit\n"


def test_console_script_explains_a_module_of_the_working_directory(tmp_path: Path) -> None:
    (tmp_path / "mymodule.py").write_text("def reduce(x):\n    return x\n")
    console = Path(sys.executable).parent / "autoprov"
    for command in ([str(console)], [sys.executable, "-m", "autoprov"]):
        done = subprocess.run([*command, "filters", "explain", "mymodule.reduce", "--match", "mymodule:reduce"],
                              cwd=tmp_path, capture_output=True, text=True, env=environment())
        assert done.returncode == 0, done.stderr
        assert "mymodule.reduce: activity" in done.stdout


# -- fuzzing -------------------------------------------------------------------------------------

KEYS = ["activities", "exclude", "entities", "description", "function", "methods", "of", "modules", "parameters",
        "results", "used", "generated", "role", "source", "kind", "nested", "name", "value", "unit", "&a", "*a", "!!python/object"]
scalars = st.one_of(st.sampled_from(KEYS), st.text(max_size=12), st.integers(), st.booleans(), st.none())


def _yaml(value, depth: int = 0) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_yaml(v, depth + 1)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_yaml(v, depth + 1) for v in value) + "]"
    return json.dumps(value)


documents = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=4), max_leaves=30)
raw_texts = st.one_of(
    documents.map(_yaml),
    st.text(alphabet="[]{}:-, \n'\"&*!#ab", max_size=400),
    st.integers(40, 2000).map(lambda n: "a: " + "- " * n + "x"),
    st.integers(33, 5000).map(lambda n: "activities: " + "{a: " * n),
    st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
)


@settings(max_examples=150, deadline=5000, suppress_health_check=[HealthCheck.too_slow])
@given(raw_texts)
def test_fuzzed_filters_give_one_line_errors(text: str) -> None:
    try:
        validate(parse(text.encode("utf-8", "surrogatepass"), "fuzz.yaml"))
    except FilterError as error:
        message = str(error)
        assert "\n" not in message and message.endswith("[AP002]") and message.startswith("filter fuzz.yaml")


T = 1_700_000_000_000_000_000
ints = st.one_of(st.integers(0, 5), st.integers(-(2**70), 2**70), st.just(T))
values = st.recursive(st.one_of(st.none(), st.booleans(), ints, st.floats(), st.text(max_size=8)),
                      lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=12)
kinds = st.sampled_from(["run", "act", "end", "use", "gen", "obj", "member", "filearg", "file", "digest", "error", "desc", "env", "exit", "other"])
typed = {
    "act": st.tuples(st.integers(1, 4), st.one_of(st.none(), st.integers(1, 4)), st.text(max_size=6), st.text(max_size=4), st.just(T), st.text(max_size=3), st.dictionaries(st.text(max_size=4), values, max_size=3)),
    "end": st.tuples(st.integers(1, 4), st.just(T + 5), st.sampled_from(["completed", "failed", "x"]), st.one_of(st.none(), st.text(max_size=5))),
    "file": st.tuples(st.one_of(st.none(), st.integers(1, 4)), st.sampled_from(["read", "write", "update", "rename", "copy", "remove", "mkdir"]), st.sampled_from(["/a", "/b", "/c"]), st.just(T + 1), st.one_of(st.integers(0, 3), st.sampled_from(["/a", "/b"]))),
    "digest": st.tuples(st.sampled_from(["/a", "/b", "/c"]), st.integers(0, 3), st.just("xxh3_128"), st.one_of(st.none(), st.just("00ff")), st.integers(0, 9), st.just(T)),
    "use": st.tuples(st.integers(1, 4), st.text(max_size=4), st.integers(1, 4), st.just(T)),
    "gen": st.tuples(st.integers(1, 4), st.text(max_size=4), st.integers(1, 4), st.just(T)),
    "obj": st.tuples(st.integers(1, 4), st.dictionaries(st.sampled_from(["type", "repr", "name", "length"]), values, max_size=3)),
    "member": st.tuples(st.integers(1, 4), st.integers(1, 4)),
    "filearg": st.tuples(st.integers(1, 4), st.text(max_size=4), st.sampled_from(["/a", "/b"]), st.sampled_from(["used", "generated"])),
    "exit": st.tuples(st.just(T + 9), st.sampled_from(["completed", "failed"]), st.one_of(st.none(), st.integers(-9, 9)), st.dictionaries(st.text(max_size=4), values, max_size=2)),
}
well_typed = st.one_of(*[fields.map(lambda f, k=kind: [k, *f]) for kind, fields in typed.items()])
any_event = st.one_of(well_typed, st.tuples(kinds, st.lists(values, max_size=8)).map(lambda p: [p[0], *p[1]]), values)
lines = st.one_of(st.lists(any_event, max_size=6).map(json.dumps), st.text(max_size=30), st.just("[" * 5000))


@settings(max_examples=120, deadline=5000, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.booleans(), st.lists(lines, max_size=6))
def test_fuzzed_event_logs_read_export_and_draw(tmp_path: Path, with_run: bool, body: list[str]) -> None:
    run = tmp_path / "fuzz"
    run.mkdir(exist_ok=True)
    head = [json.dumps([["run", "fuzz", T, {"program": "p.py", "argv": ["p.py"]}]])] if with_run else []
    (run / "events.jsonl").write_text("\n".join(head + body) + "\n", encoding="utf-8", errors="surrogatepass")
    try:
        model = load(run)
    except RecordError as error:
        assert "\n" not in str(error) and str(error).endswith("[AP005]")
        return
    describe(model, run)
    to_dot(model)
    fast, general = io.StringIO(), io.StringIO()
    write_statements(general, namespaces(model), statements(model))
    write_model(fast, model)
    assert fast.getvalue() == general.getvalue()  # the fast path says what the statements say
    serialize(model, "provn")
