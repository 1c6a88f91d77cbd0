"""The PROV-JSON fast path: every common record's text equals the encoding of its statement.

``provjson.JsonRecords`` writes usage, generation, start, derivation, revision, membership, object
entity and activity records with one f-string each instead of encoding the statement that
``statements.Records`` makes; these tests compare the two texts byte for byte, on values chosen
to hit every branch (missing times, the run as activity, colliding attribute names, every kind of
value, text that needs escaping), and the whole document of a run that has every kind.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import prov
import pytest

from autoprov.export import model as run_model
from autoprov.export.renderers import provdoc, provjson
from autoprov.export.model import Activity
from autoprov.export.statements import Records, namespaces, statements
from autoprov.log.writer import encode

T = 1_780_000_000_123_456_789
ODD = 'quote " back \\ tab\t nl\n ctl\x01 é \U0001f600 lone \udcff'
VALUES = {
    "text": "plain", "odd": ODD, "int": 7, "int32": 2**31, "int64": 2**63, "negative": -(2**31) - 1,
    "float": 1.5, "nan": float("nan"), "inf": float("inf"), "ninf": float("-inf"), "true": True, "false": False,
    "none": None, "list": [10, 200, "x"], "dict": {"b": 1, "a": [1.5, None]}, "empty": "",
}


def same_text(method: str, *args) -> None:
    fast = getattr(provjson.JsonRecords(), method)(*args)
    general = provjson.JsonRecords().statement(getattr(Records(), method)(*args))
    assert fast == general
    json.loads("{" + fast[1] + "}")


@pytest.mark.parametrize("description", [
    {}, {"type": "gammapy.maps.WcsNDMap", "repr": "WcsNDMap", "shape": [10, 200, 200]},
    {"name": ODD, **VALUES}, {"type": "a.B", "python_type": "clash"}, {"a b": 1, "a_b": 2}, {"name": ""},
])
@pytest.mark.parametrize("collection", [False, True])
def test_object_entity(description, collection):
    same_text("object_entity", "run:obj_3", description, collection)


@pytest.mark.parametrize("params", [{}, VALUES, {"a b": 1, "a_b": 2}, {"x": 1, "x.": 1}, {"1st": ODD}])
@pytest.mark.parametrize("end, status, error", [(None, "incomplete", None), (T + 5, "completed", None), (T + 5, "failed", ODD)])
@pytest.mark.parametrize("accessor", [None, "getter"])
def test_activity(params, end, status, error, accessor):
    activity = Activity(12, None, f"pkg.Maker.run {ODD}", f"rule {ODD}", T, f"Thread {ODD}", dict(params), end, status, error, accessor)
    same_text("activity", activity)


@pytest.mark.parametrize("act", [None, 4])
@pytest.mark.parametrize("time", [None, T, 1_780_000_000_000_000_000])
@pytest.mark.parametrize("role", ["map", ODD])
def test_usage_and_generation(act, time, role):
    same_text("usage", act, "file:xxh3_128_00ff", time, role)
    same_text("generation", f"run:file_{ODD}", act, time, role)


@pytest.mark.parametrize("act", [None, 4])
def test_relations(act):
    same_text("start", 5, act, T)
    same_text("derivation", "run:obj_2", f"run:path_{ODD}", act)
    same_text("revision", "run:obj_2", "run:obj_1", act)
    same_text("member", "run:obj_1", "run:obj_2")


def every_kind(run_dir: Path) -> Path:
    """A log with every kind of record: objects, collections, files, revisions, renames, removals."""
    run_dir.mkdir(parents=True)
    log = [
        ("run", "every-kind", T, {"argv": ["p.py", "a b"], "program": "p.py", "cwd": "/w", "engine": "monitoring"}),
        ("env", {"user": "u", "script": {"path": "/w/p.py", "algorithm": "xxh3_128", "digest": "ab" * 16, "size": 3}}),
        ("desc", "pkg.Maker.run", {"activity": {"description": "makes"}, "parameters": {"n": "count"}}),
        ("act", 1, None, "pkg.Maker.run", "pkg:1", T + 1, "MainThread", {**VALUES, "int64": 2**63 - 1}),  # the log's limit
        ("act", 2, 1, "pkg.Maker.run", "pkg:1", T + 2, "MainThread", {"a b": 1, "a_b": 2}),
        ("obj", 1, {"type": "pkg.Dataset", "name": ODD, "shape": [2, 3]}),
        ("obj", 2, {"type": "builtins.list"}),
        ("member", 2, 1),
        ("use", 1, "dataset", 1, T + 3),
        ("gen", 1, "datasets", 2, T + 4),
        ("rev", 3, 1, 2),
        ("use", 2, "dataset", 3, T + 5),
        ("file", 2, "read", "/w/in.fits", T + 6, 0),
        ("digest", "/w/in.fits", 0, "xxh3_128", "cd" * 16, 10, T),
        ("file", 2, "write", "/w/out.fits", T + 7, 1),
        ("digest", "/w/out.fits", 1, "xxh3_128", "ef" * 16, 20, T + 7),
        ("file", 2, "rename", "/w/out.fits", T + 8, "/w/final.fits"),
        ("digest", "/w/final.fits", 1, "xxh3_128", "ef" * 16, 20, T + 8),
        ("end", 2, T + 9, "failed", ODD),
        ("exit", T + 10, "completed", 0, {"duration": 1.0}),
    ]
    (run_dir / "events.jsonl").write_text(encode(log) + "\n", encoding="utf-8")  # one batch, as the writer writes them
    return run_dir


def test_document_equals_the_statements_encoded(tmp_path):
    model = run_model.load(every_kind(tmp_path / "run"))
    assert len(model.activities) == 2
    kinds = {statement[0] for statement in statements(model)}
    assert {"entity", "activity", "used", "wasGeneratedBy", "wasStartedBy", "wasDerivedFrom", "hadMember", "wasInvalidatedBy"} <= kinds
    fast, general = io.StringIO(), io.StringIO()
    count = provjson.write_model(fast, model)
    assert count == provjson.write_statements(general, namespaces(model), statements(model))
    assert fast.getvalue() == general.getvalue()
    path = tmp_path / "provenance.json"
    provjson.write(model, path)
    assert prov.read(path, format="json") == provdoc.document(model)
