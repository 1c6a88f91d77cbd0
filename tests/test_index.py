"""The run index on SQLite: runs indexed after they end, list filters, diff, lineage, rm, gc, rebuild.

Real runs of a toy pipeline step (``tests/scripts/index_step.py``) under ``python -m autoprov``,
real SQLite files, the commands as users type them.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import prov
import pytest

from conftest import SCRIPTS, environment, run_plain

STEP = str(SCRIPTS / "index_step.py")
MATCH = ["--filter", "none", "--match", "__main__:*"]


def step(tmp_path: Path, *args: str, export: str = "sync", env: dict | None = None, store: str | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "autoprov", "--store", store or str(tmp_path / ".prov"), *MATCH, "--export", export, STEP, *args]
    return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, env=environment(env), timeout=120)


def autoprov(tmp_path: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autoprov", *args], cwd=tmp_path, capture_output=True, text=True,
                          env=environment(env), timeout=120)


def indexed(store: Path, table: str = "run", where: str = "") -> list[tuple]:
    path = store / "index.sqlite"
    if not path.exists():
        return []
    with sqlite3.connect(path) as connection:
        try:
            return connection.execute(f"SELECT * FROM {table} {where}").fetchall()
        except sqlite3.OperationalError:  # the tables are being created
            return []


def run_ids(store: Path) -> list[str]:
    return sorted(p.name for p in store.iterdir() if (p / "events.jsonl").exists())


def chain(tmp_path: Path) -> list[str]:
    """raw.txt -> a.txt -> b.txt -> c.txt, one run each; the run ids."""
    (tmp_path / "raw.txt").write_text("1\n")
    for source, target in (("raw.txt", "a.txt"), ("a.txt", "b.txt"), ("b.txt", "c.txt")):
        done = step(tmp_path, source, target)
        assert done.returncode == 0, done.stderr
    return run_ids(tmp_path / ".prov")


def test_a_run_is_indexed_after_it_exits_and_its_outcome_is_unchanged(tmp_path: Path) -> None:
    (tmp_path / "raw.txt").write_text("1\n")
    plain = run_plain([STEP, "raw.txt", "plain.txt", "--fail"], cwd=tmp_path)
    done = step(tmp_path, "raw.txt", "out.txt", "--fail", export="background")
    assert (done.returncode, done.stdout) == (plain.returncode, plain.stdout) == (3, "2.0\n")
    store = tmp_path / ".prov"
    (run_id,) = run_ids(store)
    deadline = time.monotonic() + 60
    while not indexed(store):  # the detached step indexes just after the process has exited
        assert time.monotonic() < deadline, "the run was not indexed in 60 s"
        time.sleep(0.05)
    (row,) = indexed(store, "run")
    columns = [c[1] for c in sqlite3.connect(store / "index.sqlite").execute("PRAGMA table_info(run)")]
    run = dict(zip(columns, row))
    assert run["run_id"] == run_id and run["status"] == "failed" and run["exit_code"] == 3
    assert run["command"] == f"{STEP} raw.txt out.txt --fail"
    assert run["script_digest"].startswith("xxh3_128:") and run["python_version"] == ".".join(map(str, sys.version_info[:3]))
    assert run["activity_count"] == 3 and run["folder"] == str(store / run_id)
    assert ("xxhash",) in [r[1:2] for r in indexed(store, "run_package")]


def test_index_ids_are_the_ids_of_the_prov_documents(tmp_path: Path) -> None:
    chain(tmp_path)
    store = tmp_path / ".prov"
    first = run_ids(store)[1]  # a.txt -> b.txt
    document = prov.read(store / first / "provenance.json", format="json")
    activities = {str(record.identifier.localpart) for record in document.get_records(prov.model.ProvActivity)}
    entities = {f"file:{record.identifier.localpart}" for record in document.get_records(prov.model.ProvEntity)
                if str(record.identifier.namespace.prefix) == "file"}
    rows = indexed(store, "activity", f"WHERE run_id = '{first}'")
    assert {row[1].split(":", 1)[1] for row in rows} == activities
    files = {row[1] for row in indexed(store, "entity", f"WHERE run_id = '{first}' AND id LIKE 'file:%'")}
    assert files == entities  # content-addressed: the same ids as in every run's documents
    parameters = indexed(store, "parameter", f"WHERE run_id = '{first}' AND name = 'scale'")
    assert [row[3] for row in parameters] == ["2.0"]  # (run_id, activity_id, name, value, description)
    used = indexed(store, "used", f"WHERE run_id = '{first}' AND role = 'filename'")
    assert used and all(row[2] in files for row in used)


def test_index_rebuilds_idempotently_from_the_folders(tmp_path: Path) -> None:
    chain(tmp_path)
    store = tmp_path / ".prov"
    tables = ("run", "activity", "entity", "used", "wasgeneratedby", "wasderivedfrom", "parameter", "wasinformedby")
    before = {table: sorted(row[:3] for row in indexed(store, table)) for table in tables}
    for path in store.glob("index.sqlite*"):
        path.unlink()
    done = autoprov(tmp_path, "index", "--store", str(store))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1].startswith("3 indexed, 0 unchanged, 0 dropped")
    again = autoprov(tmp_path, "index", "--store", str(store))
    assert again.stdout.splitlines()[-1].startswith("0 indexed, 3 unchanged")
    forced = autoprov(tmp_path, "index", "--store", str(store), "--force")
    assert forced.stdout.splitlines()[-1].startswith("3 indexed")
    assert {table: sorted(row[:3] for row in indexed(store, table)) for table in tables} == before
    damaged = store / "20200101T000000000000-1-dead"
    (damaged / "events.jsonl").mkdir(parents=True)  # a log that cannot be read
    partial = autoprov(tmp_path, "index", "--store", str(store), "--force")
    assert partial.returncode == 1 and partial.stdout.splitlines()[-1].startswith("3 indexed")
    assert partial.stderr.startswith(f"autoprov: not indexed: {damaged.name}: ") and partial.stderr.endswith("[AP005]\n")
    listed = autoprov(tmp_path, "list", "--store", str(store)).stdout.splitlines()
    assert listed[0].startswith(f"{damaged.name}  unreadable   ") and len(listed) == 4  # never hidden, never hiding


def test_list_filters(tmp_path: Path) -> None:
    (tmp_path / "raw.txt").write_text("1\n")
    assert step(tmp_path, "raw.txt", "a.txt").returncode == 0
    assert step(tmp_path, "raw.txt", "b.txt", "--scale", "3.0").returncode == 0
    assert step(tmp_path, "a.txt", "c.txt", "--fail").returncode == 3
    first, second, third = run_ids(tmp_path / ".prov")

    def listed(*filters: str) -> list[str]:
        done = autoprov(tmp_path, "list", "--store", ".prov", *filters)
        assert done.returncode == 0, done.stderr
        return [line.split()[0] for line in done.stdout.splitlines()]

    plain = autoprov(tmp_path, "list", "--store", ".prov").stdout.splitlines()
    assert plain[0] == f"{first}  completed         3 activities  {STEP}"  # the format list always had
    assert listed() == [first, second, third]
    assert listed("--status", "failed") == [third]
    assert listed("--status", "completed,interrupted") == [first, second]
    assert listed("--param", "scale=3.0") == [second]
    assert listed("--param", "filename=a.txt") == [first, third]  # written by one, read by the other
    assert listed("--param", "scale=2.0", "--param", "filename=c.txt") == [third]
    assert listed("--used", "raw.txt") == [first, second]
    assert listed("--used", "a.txt") == [third]
    assert listed("--generated", "a.txt") == [first]
    (tmp_path / "a.txt").write_text("edited\n")  # other content: no run wrote or read this
    assert listed("--generated", "a.txt") == []
    assert listed("--script", "index_step.py") == [first, second, third]
    assert listed("--script", "other.py") == []
    assert listed("--since", "1h") == [first, second, third]
    assert listed("--until", "2000-01-01") == []
    as_json = json.loads(autoprov(tmp_path, "list", "--store", ".prov", "--format", "json", "--status", "failed").stdout)
    assert [(run["run_id"], run["exit_code"]) for run in as_json] == [(third, 3)]
    bad = autoprov(tmp_path, "list", "--store", ".prov", "--since", "yesterday-ish")
    assert bad.returncode == 2 and bad.stderr.strip().endswith("[AP001]") and len(bad.stderr.splitlines()) == 1


def test_diff_reports_parameters_and_files_and_its_status_says_equal(tmp_path: Path) -> None:
    (tmp_path / "raw.txt").write_text("1\n")
    for scale in ("2.0", "2.0", "5.0"):
        assert step(tmp_path, "raw.txt", "out.txt", "--scale", scale).returncode == 0
    first, second, third = run_ids(tmp_path / ".prov")
    same = autoprov(tmp_path, "diff", "--store", ".prov", first, second)
    assert same.returncode == 0, same.stdout + same.stderr
    assert same.stdout.splitlines()[-1] == "no differences"
    other = autoprov(tmp_path, "diff", "--store", ".prov", second, third)
    assert other.returncode == 1
    text = other.stdout
    assert "  command: " in text and "--scale 2.0 -> " in text
    assert "  ~ __main__.transform #1\n      scale: 2.0 -> 5.0" in text
    assert f"  ~ {tmp_path / 'out.txt'}  xxh3_128:" in text  # same path, other content
    result = json.loads(autoprov(tmp_path, "diff", "--store", ".prov", "--format", "json", second, third).stdout)
    assert result["equal"] is False and result["inputs"]["same"] == 1
    assert [change["name"] for change in result["outputs"]["content"]] == [str(tmp_path / "out.txt")]
    (tmp_path / "moved.txt").write_text((tmp_path / "raw.txt").read_text())  # same content, other path
    assert step(tmp_path, "moved.txt", "out.txt", "--scale", "5.0").returncode == 0
    moved = json.loads(autoprov(tmp_path, "diff", "--store", ".prov", "--format", "json", third, "latest").stdout)
    assert moved["inputs"]["moved"] == [{"name": moved["inputs"]["moved"][0]["name"], "a": str(tmp_path / "raw.txt"), "b": str(tmp_path / "moved.txt")}]
    missing = autoprov(tmp_path, "diff", "--store", ".prov", first, "nosuchrun")
    assert missing.returncode == 2 and "[AP003]" in missing.stderr


TWO_PRODUCTS = """
def load(path):
    with open(path) as f:
        return [float(x) for x in f]


def scale(values, factor):
    return [v * factor for v in values]


def save(values, path):
    with open(path, "w") as f:
        f.write("\\n".join(map(str, values)))


def save_summary(path):  # given nothing it reads: the record cannot link it to the inputs
    with open(path, "w") as f:
        f.write(str(len(RESULTS)))


RESULTS = []
for name in ("x", "y"):
    values = scale(load(f"{name}.txt"), 2.0)
    RESULTS.append(values)
    save(values, f"{name}.out")
save_summary("summary.out")
"""
TWO_PRODUCTS_FILTER = """
description: each product from its own input
activities:
  - {function: "__main__:load", used: [{role: input, source: path}], generated: [{role: values, source: return}]}
  - {function: "__main__:scale", parameters: [factor], used: [{role: values, source: values}], generated: [{role: values, source: return}]}
  - {function: "__main__:save", used: [{role: values, source: values}], generated: [{role: output, source: path}]}
  - {function: "__main__:save_summary", generated: [{role: summary, source: path}]}
"""


def test_lineage_follows_the_record_not_the_order_of_reads(tmp_path: Path) -> None:
    """Two products of one run, each computed from its own input, reach only that input; a
    product the record links to nothing gets the files read before it, marked as inferred."""
    (tmp_path / "prog.py").write_text(TWO_PRODUCTS)
    (tmp_path / "own.yaml").write_text(TWO_PRODUCTS_FILTER)
    (tmp_path / "x.txt").write_text("1\n2\n")
    (tmp_path / "y.txt").write_text("3\n")
    done = subprocess.run([sys.executable, "-m", "autoprov", "--quiet", "--filter", "own.yaml", "--export", "sync", "prog.py"],
                          cwd=tmp_path, capture_output=True, text=True, env=environment(), timeout=120)
    assert done.returncode == 0, done.stderr

    def inputs(name: str) -> list[tuple[str, bool]]:
        tree = json.loads(autoprov(tmp_path, "lineage", "--format", "json", name).stdout)
        return [(Path(item["path"]).name, item["inferred"]) for item in tree["root"]["generation"]["inputs"]]

    assert inputs("x.out") == [("x.txt", False)]
    assert inputs("y.out") == [("y.txt", False)]  # not x.txt, read before it
    assert inputs("summary.out") == [("x.txt", True), ("y.txt", True)]
    text = autoprov(tmp_path, "lineage", "summary.out").stdout
    assert text.count("read by the run before, not linked to it in the record") == 2


def test_lineage_walks_back_across_runs_and_reports_a_hand_edit(tmp_path: Path) -> None:
    first, second, third = chain(tmp_path)
    done = autoprov(tmp_path, "lineage", "--store", ".prov", "c.txt")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"{tmp_path / 'c.txt'}  xxh3_128:")
    order = [run for line in lines for run in (first, second, third) if f"in run {run}" in line]
    assert order == [third, second, first]
    assert f"{tmp_path / 'raw.txt'}" in lines[-1] and "(input: produced by no recorded run)" in lines[-1]
    tree = json.loads(autoprov(tmp_path, "lineage", "--store", ".prov", "--format", "json", "c.txt").stdout)
    generation = tree["root"]["generation"]
    assert (generation["run_id"], generation["activity"]) == (third, "__main__.save")
    assert generation["inputs"][0]["generation"]["inputs"][0]["generation"]["run_id"] == first
    graph = autoprov(tmp_path, "lineage", "--store", ".prov", "c.txt", "--graph", "chain.svg")
    assert graph.returncode == 0 and (tmp_path / "chain.svg").read_text().lstrip().startswith(("<?xml", "<svg"))
    assert autoprov(tmp_path, "lineage", "--store", ".prov", "c.txt", "--graph", "chain.dot").returncode == 0
    assert f"run {first}" in (tmp_path / "chain.dot").read_text()

    (tmp_path / "b.txt").write_text("99\n")  # run 2's output edited by hand
    edited = autoprov(tmp_path, "lineage", "--store", ".prov", "b.txt")
    assert edited.returncode == 1
    assert f"produced by no recorded run: run {second}" in edited.stdout and "changed after that run" in edited.stdout
    assert step(tmp_path, "b.txt", "d.txt").returncode == 0
    broken = autoprov(tmp_path, "lineage", "--store", ".prov", "d.txt")
    assert broken.returncode == 0
    assert f"CHAIN BROKEN: produced by no recorded run; run {second}" in broken.stdout
    raw = autoprov(tmp_path, "lineage", "--store", ".prov", "raw.txt")
    assert raw.returncode == 1 and "run(s) read it: an input" in raw.stdout
    (tmp_path / "c.txt").unlink()  # gone: traced from the last content a run wrote there
    gone = autoprov(tmp_path, "lineage", "--store", ".prov", "c.txt")
    assert gone.returncode == 0 and "does not exist (any more)" in gone.stdout and f"in run {third}" in gone.stdout


def test_rm_and_gc_keep_folders_and_index_consistent(tmp_path: Path) -> None:
    first, second, third = chain(tmp_path)
    store = tmp_path / ".prov"
    done = autoprov(tmp_path, "rm", "--store", ".prov", second)
    assert done.returncode == 0 and done.stdout == f"removed  {second}\n"
    assert run_ids(store) == [first, third]
    assert [row[0] for row in indexed(store)] == [first, third]
    assert not indexed(store, "activity", f"WHERE run_id = '{second}'")
    assert autoprov(tmp_path, "rm", "--store", ".prov", second).returncode == 2  # gone
    dry = autoprov(tmp_path, "gc", "--store", ".prov", "--older-than", "0s", "--dry-run")
    assert dry.stdout.splitlines() == [f"would remove  {first}", f"would remove  {third}", "2 run(s) would remove"]
    assert run_ids(store) == [first, third]
    kept = autoprov(tmp_path, "gc", "--store", ".prov", "--older-than", "1d")
    assert kept.stdout == "0 run(s) removed\n" and len(indexed(store)) == 2
    shutil.rmtree(store / first)  # deleted by hand: gc drops its rows
    orphan = autoprov(tmp_path, "gc", "--store", ".prov", "--older-than", "30d")
    assert orphan.stdout.splitlines() == [f"removed  {first}", "1 run(s) removed"]
    assert [row[0] for row in indexed(store)] == [third]
    everything = autoprov(tmp_path, "gc", "--store", ".prov", "--older-than", "0s")  # everything is older
    assert everything.returncode == 0 and run_ids(store) == [] and indexed(store) == []
    bad = autoprov(tmp_path, "gc", "--store", ".prov", "--older-than", "forever")
    assert bad.returncode == 2 and "[AP001]" in bad.stderr


def test_a_locked_index_gives_one_line_and_index_catches_up(tmp_path: Path) -> None:
    (tmp_path / "raw.txt").write_text("1\n")
    assert step(tmp_path, "raw.txt", "a.txt").returncode == 0  # creates the index
    store = tmp_path / ".prov"
    holder = sqlite3.connect(store / "index.sqlite", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        plain = run_plain([STEP, "raw.txt", "b.txt"], cwd=tmp_path)
        command = [sys.executable, "-m", "autoprov", "--store", str(store), *MATCH, "--export", "sync", STEP, "raw.txt", "b.txt"]
        done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120,
                              env=environment({"AUTOPROV_INDEX_TIMEOUT": "0.5"}))
    finally:
        holder.rollback()
        holder.close()
    assert (done.returncode, done.stdout) == (plain.returncode, plain.stdout)
    notes = [line for line in done.stderr.splitlines() if "[AP006]" in line]
    assert len(notes) == 1 and "database is locked" in notes[0] and "`autoprov index` adds it later" in notes[0], done.stderr
    assert len(run_ids(store)) == 2 and len(indexed(store)) == 1  # the folder is kept, not indexed
    caught = autoprov(tmp_path, "index", "--store", str(store))
    assert caught.stdout.splitlines()[-1].startswith("1 indexed, 1 unchanged")
    assert sorted(row[0] for row in indexed(store)) == run_ids(store)


def test_eight_concurrent_runs_index_into_one_sqlite_file(tmp_path: Path) -> None:
    (tmp_path / "raw.txt").write_text("1\n")
    store = tmp_path / ".prov"
    commands = [[sys.executable, "-m", "autoprov", "--store", str(store), *MATCH, "--export", "sync", STEP, "raw.txt",
                 f"out{n}.txt", "--scale", str(n)] for n in range(8)]
    processes = [subprocess.Popen(c, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment())
                 for c in commands]
    for process in processes:
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 0 and "AP006" not in stderr, stderr
    runs = run_ids(store)
    assert len(runs) == 8 and sorted(row[0] for row in indexed(store)) == runs
    assert len(indexed(store, "activity", "WHERE seq > 0")) == 8 * 3
    scales = sorted(float(row[3]) for row in indexed(store, "parameter", "WHERE name = 'scale'"))
    assert scales == [float(n) for n in range(8)]


def test_capture_in_code_indexes_at_stop_and_store_api_returns_plain_objects(tmp_path: Path) -> None:
    (tmp_path / "raw.txt").write_text("4\n")
    script = tmp_path / "session.py"
    script.write_text(
        "import sys\nimport autoprov\n"
        "print('sqlalchemy' in sys.modules)\n"
        "def work(n):\n    return open('raw.txt').read() * n\n"
        "with autoprov.capture(filters=['none'], match=['__main__:work'], store='st', quiet=True):\n    work(2)\n"
        "from dataclasses import asdict\n"
        "runs = autoprov.Store('st').runs()\n"
        "print(len(runs), runs[0].status, asdict(runs[0])['activities'])\n"
    )
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, env=environment(), timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["False", "1 completed 1"]  # import autoprov leaves SQLAlchemy out
    assert len(indexed(tmp_path / "st")) == 1


def test_pyproject_names_the_store(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.autoprov]\nstore = "records"\n')
    (tmp_path / "raw.txt").write_text("1\n")
    command = [sys.executable, "-m", "autoprov", *MATCH, "--export", "sync", STEP, "raw.txt", "a.txt"]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, env=environment({"AUTOPROV_STORE": ""}), timeout=120)
    assert done.returncode == 0, done.stderr
    assert len(run_ids(tmp_path / "records")) == 1 and len(indexed(tmp_path / "records")) == 1
    listed = autoprov(tmp_path, "list", env={"AUTOPROV_STORE": ""})
    assert listed.stdout.count("completed") == 1
    wrong = autoprov(tmp_path, "list", "--store", "mysql://u:pw@host/db")
    assert wrong.returncode == 2 and "pw" not in wrong.stderr and "[AP001]" in wrong.stderr


def test_schema_version_newer_is_refused_and_older_is_migrated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy import text

    from autoprov.errors import IndexDatabaseError
    from autoprov.index import schema
    from autoprov.index.api import Store

    chain(tmp_path)
    path = tmp_path / ".prov" / "index.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(IndexDatabaseError, match="schema version 99, newer than"):
        Store(tmp_path / ".prov").runs()
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE schema_version SET version = 1")

    def add_note_column(connection) -> None:
        connection.execute(text("ALTER TABLE run ADD COLUMN note TEXT"))
        connection.execute(text("UPDATE run SET note = 'migrated'"))

    monkeypatch.setattr(schema, "SCHEMA_VERSION", 2)
    monkeypatch.setitem(schema.MIGRATIONS, 1, add_note_column)
    assert len(Store(tmp_path / ".prov").runs()) == 3
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT version FROM schema_version").fetchall() == [(2,)]
        assert {row[0] for row in connection.execute("SELECT note FROM run")} == {"migrated"}


def test_an_index_at_schema_2_gains_the_accessor_column(tmp_path: Path) -> None:
    """Schema 3 marks property reads (``activity.accessor``): a version-2 index is migrated in place,
    its rows kept (NULL: indexed before reads were marked), and lineage answers from it."""
    from autoprov.index.api import Store

    chain(tmp_path)
    path = tmp_path / ".prov" / "index.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute("ALTER TABLE activity DROP COLUMN accessor")
        connection.execute("UPDATE schema_version SET version = 2")
    assert Store(tmp_path / ".prov").lineage(tmp_path / "c.txt").produced
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT version FROM schema_version").fetchall() == [(3,)]
        assert {row[0] for row in connection.execute("SELECT accessor FROM activity")} == {None}


def test_a_set_parameter_does_not_differ_by_hash_seed(tmp_path: Path) -> None:
    """String hashing changes from run to run, and with it a set's order: the record sorts sets,
    so two runs of the same program are equal for ``diff``."""
    (tmp_path / "prog.py").write_text("def select(bands):\n    return len(bands)\n"
                                      "print(select({'alpha', 'beta', 'gamma', 'delta', 'epsilon'}))\n")
    for seed in ("1", "2"):
        done = subprocess.run([sys.executable, "-m", "autoprov", "--quiet", *MATCH, "--export", "sync", "prog.py"], cwd=tmp_path,
                              capture_output=True, text=True, env=environment({"PYTHONHASHSEED": seed}), timeout=120)
        assert done.returncode == 0, done.stderr
    first, second = run_ids(tmp_path / ".prov")
    same = autoprov(tmp_path, "diff", "--store", ".prov", first, second)
    assert same.returncode == 0, same.stdout
    from autoprov.log.reader import read_events

    (act,) = [e for e in read_events(tmp_path / ".prov" / first) if e[0] == "act"]
    assert act[7] == {"bands": ["alpha", "beta", "delta", "epsilon", "gamma"]}
