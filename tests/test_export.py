"""Export of a real recorded run: documents, record model, environment, graphs, incomplete runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import prov

from autoprov.store import run_dirs
import pytest
import xxhash
from prov.model import ProvDocument

from autoprov.export import model as run_model
from autoprov.export.renderers import provdoc, provjson
from autoprov.cli.runs import describe
from autoprov.export.renderers.dot import to_dot

from conftest import SCRIPTS, environment, wait_for_outputs

MATCH = ["--filter", "none", "--match", "__main__:*"]
SLOW_OUTPUTS = ("provenance.provn", "provenance.xml", "provenance.ttl", "report.html", "graph.svg", "graph.png")


def run_script(tmp_path: Path, script: str, *args: str, options: list[str] | None = None) -> tuple[subprocess.CompletedProcess, Path]:
    store = tmp_path / ".prov"
    command = [sys.executable, "-m", "autoprov", "--store", str(store), *MATCH, *(options or []), str(SCRIPTS / script), *args]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, env=environment(), timeout=300)
    runs = sorted(p for p in store.iterdir() if (p / "events.jsonl").exists())
    return done, runs[-1]


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path, Path]:
    tmp_path = tmp_path_factory.mktemp("pipeline")
    (tmp_path / "n.txt").write_text("7")
    done, run_dir = run_script(tmp_path, "export_pipeline.py", "n.txt", "out.json", options=["--graph", "svg,png"])
    assert done.returncode == 0, done.stderr
    for name in ("provenance.json", "environment.json", "graph.dot"):  # written before the process ends
        assert (run_dir / name).stat().st_size > 0, name
    wait_for_outputs(run_dir, SLOW_OUTPUTS)  # written by the detached exporter just after
    return done, run_dir, tmp_path


def records(doc: ProvDocument, kind: str) -> list:
    return [r for r in doc.get_records() if r.get_type().localpart == kind]


def attribute(record, name: str):
    values = [v for k, v in record.attributes if str(k) == name]
    return values[0] if len(values) == 1 else values


def test_summary_line_and_outputs(pipeline):
    done, run_dir, _ = pipeline
    last = done.stderr.strip().splitlines()[-1]
    from autoprov.log.reader import read_events

    acts = sum(1 for event in read_events(run_dir) if event[0] == "act")
    doc = prov.read(run_dir / "provenance.json", format="json")
    data = [e for e in records(doc, "Entity") if {"autoprov:PythonObject", "autoprov:File", "autoprov:Path"} & {str(t) for t in e.get_attribute("prov:type")}]
    data = [e for e in data if "prov:Plan" not in {str(t) for t in e.get_attribute("prov:type")}]
    assert last == (f"autoprov: {run_dir.name}: {acts} activities, {len(data)} entities -> .prov/{run_dir.name}/"
                    f" (report: .prov/{run_dir.name}/report.html, written in a moment)")
    for name in SLOW_OUTPUTS + ("provenance.json", "environment.json", "graph.dot"):
        assert (run_dir / name).stat().st_size > 0, name
    assert not list(run_dir.glob(".*.tmp"))  # atomic writes leave no temporary files


def test_sync_export_writes_everything_before_exit(tmp_path):
    (tmp_path / "n.txt").write_text("3")
    done, run_dir = run_script(tmp_path, "export_pipeline.py", "n.txt", "out.json", options=["--export", "sync", "--graph", "svg"])
    assert done.returncode == 0, done.stderr
    for name in ("provenance.json", "provenance.provn", "provenance.xml", "provenance.ttl", "environment.json", "graph.dot", "graph.svg"):
        assert (run_dir / name).stat().st_size > 0, name
    assert not list(run_dir.glob(".*.tmp"))


@pytest.mark.parametrize("fmt, name", [("json", "provenance.json"), ("xml", "provenance.xml"), ("rdf", "provenance.ttl")])
def test_documents_read_back_equal_and_unify(pipeline, fmt, name):
    _, run_dir, _ = pipeline
    options = {"rdf_format": "turtle"} if fmt == "rdf" else {}
    doc = prov.read(run_dir / name, format=fmt, **options)
    reference = provdoc.document(run_model.load(run_dir))
    doc.unified()  # raises on a conflict
    if fmt == "json":
        assert doc == reference
    else:  # XML and RDF keep every statement (RDF may split relations into more triples)
        assert len(records(doc, "Activity")) == len(records(reference, "Activity"))
        assert len(records(doc, "Entity")) == len(records(reference, "Entity"))
    provn = (run_dir / "provenance.provn").read_text()
    assert provn.startswith("document") and "wasStartedBy" in provn


def test_streamed_json_equals_prov_model(pipeline, tmp_path):
    _, run_dir, _ = pipeline
    model = run_model.load(run_dir)
    path = tmp_path / "streamed.json"
    count = provjson.write(model, path)
    reference = provdoc.document(model)
    assert prov.read(path, format="json") == reference
    assert count == len(reference.records)
    assert json.loads(reference.serialize(format="json")).keys() == json.loads(path.read_text()).keys()


def test_run_activity_agents_and_plan(pipeline):
    _, run_dir, tmp_path = pipeline
    doc = prov.read(run_dir / "provenance.json", format="json")
    session = doc.get_record(f"run:session")[0]
    assert attribute(session, "autoprov:status") == "completed"
    assert attribute(session, "autoprov:exit_code") == 0
    assert attribute(session, "autoprov:run_id") == run_dir.name
    assert "export_pipeline.py" in attribute(session, "autoprov:command_line")
    assert session.get_startTime() is not None and session.get_endTime() is not None
    agents = {str(attribute(a, "prov:type")): a for a in records(doc, "Agent")}
    assert set(agents) == {"prov:Person", "prov:SoftwareAgent"}
    import getpass

    assert attribute(agents["prov:Person"], "prov:label") == getpass.getuser()
    assert attribute(agents["prov:SoftwareAgent"], "autoprov:version") == "0.1.0"
    plans = [r for r in records(doc, "Association") if r.get_attribute("prov:plan")]
    assert len(plans) == 1
    plan = doc.get_record(next(iter(plans[0].get_attribute("prov:plan"))))[0]
    script = SCRIPTS / "export_pipeline.py"
    assert attribute(plan, "autoprov:digest") == xxhash.xxh3_128(script.read_bytes()).hexdigest()
    assert attribute(plan, "prov:location") == str(script)


def test_activities_nesting_parameters_and_descriptions(pipeline):
    _, run_dir, _ = pipeline
    doc = prov.read(run_dir / "provenance.json", format="json")
    acts = {attribute(a, "prov:label"): a for a in records(doc, "Activity")}
    make = acts["__main__.make"]
    assert attribute(make, "param:n") == 7 and attribute(make, "param:scale") == 2.0 and attribute(make, "param:label") == "x"
    assert attribute(make, "autoprov:status") == "completed"
    assert make.get_startTime() <= make.get_endTime()
    starters = {str(r.get_attribute("prov:activity").pop()): str(r.get_attribute("prov:starter").pop()) for r in records(doc, "Start")}
    main_id = str(acts["__main__.main"].identifier)
    assert starters[main_id] == "run:session"
    assert starters[str(make.identifier)] == main_id
    description = doc.get_record(str(attribute(make, "voprov:activityDescription")))[0]
    assert str(attribute(description, "prov:type")) == "voprov:ActivityDescription"
    assert attribute(description, "voprov:name") == "__main__.make"


def _file_entities(doc: ProvDocument) -> dict[str, list]:
    files: dict[str, list] = {}
    for entity in records(doc, "Entity"):
        if "autoprov:File" in str(attribute(entity, "prov:type")):
            files.setdefault(Path(attribute(entity, "prov:location")).name, []).append(entity)
    return files


def test_file_entities_digests_roles_and_links(pipeline):
    _, run_dir, tmp_path = pipeline
    doc = prov.read(run_dir / "provenance.json", format="json")
    files = _file_entities(doc)
    for name in ("n.txt", "out.json", "out.json.copy"):
        (entity,) = files[name]
        content = (tmp_path / name).read_bytes()
        assert attribute(entity, "autoprov:digest") == xxhash.xxh3_128(content).hexdigest()
        assert attribute(entity, "autoprov:digest_type") == "xxh3_128"
        assert attribute(entity, "autoprov:size") == len(content)
        digest = xxhash.xxh3_128(content).hexdigest()
        if name == "out.json.copy":  # same content as out.json at another path: its own, run-local entity
            assert str(entity.identifier).startswith(f"run:file_xxh3_128_{digest}_")
        else:  # content-addressed, shared by runs
            assert str(entity.identifier) == f"file:xxh3_128_{digest}"
    out = str(files["out.json"][0].identifier)
    labels = {str(a.identifier): attribute(a, "prov:label") for a in records(doc, "Activity")}
    generated = [(labels[str(r.get_attribute("prov:activity").pop())], attribute(r, "prov:role")) for r in records(doc, "Generation") if str(r.get_attribute("prov:entity").pop()) == out]
    used = [(labels[str(r.get_attribute("prov:activity").pop())], attribute(r, "prov:role")) for r in records(doc, "Usage") if str(r.get_attribute("prov:entity").pop()) == out]
    assert generated == [("__main__.write", "filename")]
    assert used == [("__main__.read", "filename")]  # written then read back: one entity
    source = str(files["n.txt"][0].identifier)
    assert any(str(r.get_attribute("prov:entity").pop()) == source for r in records(doc, "Usage"))


def test_objects_collections_and_derivations(pipeline):
    _, run_dir, _ = pipeline
    doc = prov.read(run_dir / "provenance.json", format="json")
    members = records(doc, "Membership")
    assert len(members) == 2
    collection = doc.get_record(str(members[0].get_attribute("prov:collection").pop()))[0]
    assert {str(t) for t in collection.get_attribute("prov:type")} == {"autoprov:PythonObject", "prov:Collection"}
    assert attribute(collection, "autoprov:length") == 2
    thing = doc.get_record(str(members[0].get_attribute("prov:entity").pop()))[0]
    assert attribute(thing, "autoprov:python_type") == "__main__.Thing"
    derivations = {(str(r.get_attribute("prov:generatedEntity").pop()), str(r.get_attribute("prov:usedEntity").pop())) for r in records(doc, "Derivation")}
    files = _file_entities(doc)
    out, copy = str(files["out.json"][0].identifier), str(files["out.json.copy"][0].identifier)
    # the read-back object derives from out.json, and the copy from that object
    again = {g for g, u in derivations if u == out}
    assert again and any((copy, g) in derivations for g in again)


def test_environment_document(pipeline):
    _, run_dir, _ = pipeline
    env = json.loads((run_dir / "environment.json").read_text())
    assert env["status"] == "completed" and env["exit_code"] == 0 and env["run_id"] == run_dir.name
    for key in ("machine", "node", "system", "release", "libc", "n_cpus", "boot_time", "total_memory"):
        assert env["platform"][key] not in (None, ""), key
    for key in ("version", "implementation", "compiler", "executable"):
        assert env["python"][key], key
    assert env["packages"]["xxhash"] and env["packages"]["autoprov"] == "0.1.0"
    assert env["argv"][0].endswith("export_pipeline.py")
    assert env["start"] < env["stop"] and env["cpu_time"] > 0 and env["peak_rss"] > 0
    assert env["hostname"] and env["cwd"] and env["user"]
    assert "git" in env and "PATH" in env["environment_variables"]


def test_graph_dot_and_images(pipeline):
    _, run_dir, _ = pipeline
    text = (run_dir / "graph.dot").read_text()
    assert text.startswith("digraph provenance {") and "subgraph cluster_" in text
    assert '"out.json"' in text and '"n.txt"' in text and "n=7" in text
    assert (run_dir / "graph.png").read_bytes().startswith(b"\x89PNG")
    assert b"<svg" in (run_dir / "graph.svg").read_bytes()


def test_show_summary(pipeline):
    _, run_dir, _ = pipeline
    text = describe(run_model.load(run_dir), run_dir)
    assert run_dir.name in text and "completed" in text and f"{len(run_model.load(run_dir).activities)} activities" in text and "out.json" in text


def test_export_and_graph_subcommands(pipeline, tmp_path):
    _, run_dir, _ = pipeline
    store = str(run_dir.parent)
    base = [sys.executable, "-m", "autoprov"]
    for fmt in ("json", "provn", "xml", "ttl"):
        output = tmp_path / f"doc.{fmt}"
        done = subprocess.run([*base, "export", run_dir.name[:20], "--store", store, "--format", fmt, "-o", str(output)], capture_output=True, text=True, env=environment())
        assert done.returncode == 0, done.stderr
        assert output.stat().st_size > 1000
    done = subprocess.run([*base, "graph", "--store", store, "-o", str(tmp_path / "g.pdf")], capture_output=True, text=True, env=environment())
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "g.pdf").read_bytes().startswith(b"%PDF")
    done = subprocess.run([*base, "export", "--store", store, "--format", "yaml"], capture_output=True, text=True, env=environment())
    assert done.returncode == 2 and "unknown --format 'yaml'" in done.stderr


def test_sigkilled_run_exports_as_incomplete(tmp_path):
    store = tmp_path / ".prov"
    command = [sys.executable, "-m", "autoprov", "--store", str(store), *MATCH, str(SCRIPTS / "export_killed.py")]
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, text=True, env=environment())
    assert process.stdout.readline().strip() == "ready"
    time.sleep(2.5)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    (run_dir,) = run_dirs(store)  # a killed run is adopted into its store when it is listed
    assert not (run_dir / "provenance.json").exists()
    done = subprocess.run([sys.executable, "-m", "autoprov", "export", "--store", str(store)], capture_output=True, text=True, env=environment())
    assert done.returncode == 0, done.stderr
    doc = prov.read(run_dir / "provenance.json", format="json")
    session = doc.get_record("run:session")[0]
    assert attribute(session, "autoprov:status") == "incomplete" and session.get_endTime() is None
    acts = {attribute(a, "prov:label"): a for a in records(doc, "Activity")}
    assert attribute(acts["__main__.step"], "autoprov:status") == "completed"
    assert attribute(acts["__main__.hang"], "autoprov:status") == "incomplete"
    assert acts["__main__.hang"].get_endTime() is None
    doc.unified()


def test_atomic_json_write_keeps_the_previous_document(pipeline, tmp_path, monkeypatch):
    _, run_dir, _ = pipeline
    model = run_model.load(run_dir)
    path = tmp_path / "provenance.json"
    path.write_text("previous")

    def broken(*args, **kwargs):
        yield ("entity", '"run:x":{}')
        raise OSError("disk full")

    monkeypatch.setattr(provjson, "records", broken)
    with pytest.raises(OSError):
        provjson.write(model, path)
    assert path.read_text() == "previous"
    assert os.listdir(tmp_path) == ["provenance.json"]


def test_repeated_calls_collapse_on_large_runs(pipeline):
    _, run_dir, _ = pipeline
    model = run_model.load(run_dir)
    collapsed = to_dot(model, collapse=True)
    assert "Thing.__init__ x 2" in collapsed or "write x 2" in collapsed
    assert "x 2" not in to_dot(model, collapse=False)


SCRATCH = """
import os, tempfile

def save(path):
    fd, scratch = tempfile.mkstemp(dir=".")
    with os.fdopen(fd, "w") as handle:
        handle.write("partial")
    with open(path, "w") as out:
        out.write("result")
    os.remove(scratch)

def clean(path):
    os.remove(path)

open("old.txt", "w").write("before the run") if False else None
save("result.txt")
clean("input.txt")
"""


def test_scratch_files_are_left_out_but_real_removals_stay(tmp_path):
    """A temporary file one call creates and removes is not data; removing an input is a fact."""
    (tmp_path / "input.txt").write_text("an input that the run deletes")
    (tmp_path / "scratch_script.py").write_text(SCRATCH)
    store = tmp_path / ".prov"
    command = [sys.executable, "-m", "autoprov", "--store", str(store), *MATCH, "--export", "sync", "scratch_script.py"]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, env=environment(), timeout=300)
    assert done.returncode == 0, done.stderr
    (run_dir,) = [p for p in store.iterdir() if p.is_dir()]
    doc = prov.read(run_dir / "provenance.json", format="json")
    locations = {str(attribute(e, "prov:location")) for e in records(doc, "Entity") if e.get_attribute("prov:location")}
    assert str(tmp_path / "result.txt") in locations
    assert str(tmp_path / "input.txt") in locations  # removed input: kept, invalidated
    assert not [loc for loc in locations if loc.startswith(str(tmp_path / "tmp"))]  # the scratch file is gone
    invalidated = [r for r in records(doc, "Invalidation")]
    assert len(invalidated) == 1
