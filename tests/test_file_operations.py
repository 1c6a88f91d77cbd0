"""Every file operation recorded as the operating system saw it, against the real file system.

Each script does its operations inside ``step()``, a recorded activity (``--match __main__:step``),
on every engine; the record is read back from the event log and, where the question is about
lineage, from the run model (:mod:`autoprov.export.model`) or the PROV-JSON document.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import prov
import pytest
import xxhash

from autoprov.export import model as run_model
from conftest import environment, run_autoprov

MATCH = ["--filter", "none", "--match", "__main__:step"]


def xxh(data: bytes) -> str:
    return xxhash.xxh3_128_hexdigest(data)


def record(tmp_path: Path, body: str, engine: str, options: list[str] | None = None, env: dict | None = None,
           store: Path | None = None):
    """Run ``step()`` (made of ``body``) under autoprov; (result, file events without imports, model)."""
    script = "import os, shutil\n\ndef step():\n" + "".join(f"    {line}\n" for line in body.strip().splitlines()) + "\nstep()\n"
    (tmp_path / "main.py").write_text(script)
    result = run_autoprov(["main.py"], tmp_path, engine=engine, options=[*MATCH, *(options or [])], env=env, store=store)
    assert result.returncode == 0, result.stderr
    files = [tuple(event[1:]) for event in result.of_kind("file") if event[2] != "import"]
    return result, files, run_model.build(result.events)


def ops(files: list[tuple]) -> list[tuple[str, str, object]]:
    return [(op, path, extra) for _, op, path, _, extra, *_ in files]


def digest_of(model, path: Path, version: int) -> str | None:
    return model.digests[(str(path), version)][1]


def test_rmtree_removes_the_files_under_the_folder_not_namesakes_in_cwd(tmp_path: Path, engine: str) -> None:
    (tmp_path / "out" / "sub").mkdir(parents=True)
    (tmp_path / "out" / "f.txt").write_text("in out")
    (tmp_path / "out" / "sub" / "g.txt").write_text("in sub")
    (tmp_path / "f.txt").write_text("namesake in cwd")
    (tmp_path / "g.txt").write_text("another namesake")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "h.txt").write_text("removed through a dir_fd")
    _, files, model = record(tmp_path, """
shutil.rmtree("out")
fd = os.open("other", os.O_RDONLY)
os.remove("h.txt", dir_fd=fd)
os.close(fd)
""", engine)
    removed = sorted(path for op, path, _ in ops(files) if op == "remove")
    assert removed == sorted(str(p) for p in (tmp_path / "out" / "f.txt", tmp_path / "out" / "sub" / "g.txt", tmp_path / "other" / "h.txt"))
    assert not [path for _, path, _ in ops(files) if path in (str(tmp_path / "f.txt"), str(tmp_path / "g.txt"))]
    assert all(op != "read" for op, _, _ in ops(files))  # the folders rmtree opened are not reads
    assert digest_of(model, tmp_path / "out" / "sub" / "g.txt", 0) == xxh(b"in sub")  # hashed before removal
    assert digest_of(model, tmp_path / "other" / "h.txt", 0) == xxh(b"removed through a dir_fd")
    assert {entity[1] for entity, _, _ in model.invalidated} == set(removed)


def test_copytree_copies_each_file_once(tmp_path: Path, engine: str) -> None:
    (tmp_path / "tree" / "sub").mkdir(parents=True)
    (tmp_path / "tree" / "a.txt").write_text("a")
    (tmp_path / "tree" / "sub" / "b.txt").write_text("b")
    _, files, model = record(tmp_path, 'shutil.copytree("tree", "copy")', engine)
    for name, content in (("a.txt", b"a"), ("sub/b.txt", b"b")):
        target = str(tmp_path / "copy" / name)
        assert [(op, extra) for op, path, extra in ops(files) if path == target or extra == target] == [("copy", target)]
        assert model.digests[(target, 1)][1] == xxh(content) and (target, 2) not in model.digests
        assert (("file", target, 1), ("file", str(tmp_path / "tree" / name), 0)) in [(o, i) for o, i, _ in model.derived]


def test_renamed_and_moved_folders_keep_the_files_written_in_them(tmp_path: Path, engine: str) -> None:
    _, files, model = record(tmp_path, """
os.makedirs("work/sub")
with open("work/a.txt", "w") as handle:
    handle.write("first")
with open("work/sub/b.txt", "w") as handle:
    handle.write("second")
os.rename("work", "done")
shutil.move("done", "final")
""", engine)
    for name, content in (("a.txt", b"first"), ("sub/b.txt", b"second")):
        final = str(tmp_path / "final" / name)
        assert (final, 1) in model.digests and model.digests[(final, 1)][1] == xxh(content)
        generated = {link.entity for link in model.generated}
        assert ("file", final, 1) in generated
        chain = {(o[1], i[1]) for o, i, _ in model.derived}
        assert (str(tmp_path / "done" / name), str(tmp_path / "work" / name)) in chain
        assert (final, str(tmp_path / "done" / name)) in chain
        assert ("file", str(tmp_path / "work" / name), 1) in {entity for entity, _, _ in model.invalidated}


def test_move_to_another_file_system_is_a_copy_and_a_removal(tmp_path: Path, engine: str) -> None:
    shm = Path("/dev/shm")
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(tmp_path).st_dev:
        pytest.fail("this test needs /dev/shm on another file system than the temporary folder")
    target = shm / f"autoprov-test-{os.getpid()}-{engine}"
    target.mkdir()
    try:
        (tmp_path / "x.txt").write_text("moving")
        _, files, model = record(tmp_path, f'shutil.move("x.txt", "{target}/x.txt")', engine)
        assert [op for op, _, _ in ops(files)] == ["copy", "remove"]  # the failing rename is left out
        assert model.digests[(str(target / "x.txt"), 1)][1] == xxh(b"moving")
    finally:
        for child in target.iterdir():
            child.unlink()
        target.rmdir()


def test_truncate_makes_an_update_of_the_previous_version(tmp_path: Path, engine: str) -> None:
    (tmp_path / "data.txt").write_text("hello world")
    (tmp_path / "open.txt").write_text("0123456789")
    _, files, model = record(tmp_path, """
os.truncate("data.txt", 5)
with open("open.txt", "r+") as handle:
    handle.truncate(4)
""", engine)
    data, opened = str(tmp_path / "data.txt"), str(tmp_path / "open.txt")
    assert ("truncate", data, 1) in ops(files)
    assert model.digests[(data, 0)][1] == xxh(b"hello world") and model.digests[(data, 1)][1] == xxh(b"hello")
    assert (("file", data, 1), ("file", data, 0), model.activities and next(iter(model.activities))) in model.revisions
    assert [op for op, path, _ in ops(files) if path == opened] == ["update"]  # ftruncate of the open file: same version
    assert model.digests[(opened, 1)][1] == xxh(b"0123")


def test_hard_link_is_a_new_path_with_the_same_content(tmp_path: Path, engine: str) -> None:
    (tmp_path / "a.txt").write_text("shared inode")
    _, files, model = record(tmp_path, 'os.link("a.txt", "b.txt")', engine)
    a, b = str(tmp_path / "a.txt"), str(tmp_path / "b.txt")
    assert ops(files) == [("link", a, b)]
    assert model.digests[(b, 1)][1] == xxh(b"shared inode")
    assert (("file", b, 1), ("file", a, 0)) in [(o, i) for o, i, _ in model.derived]
    assert any(link.role == "hard_link" and link.entity == ("file", b, 1) for link in model.generated)


def test_write_through_a_symbolic_link_records_the_real_file(tmp_path: Path, engine: str) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "real.txt").write_text("old")
    os.symlink("data/real.txt", tmp_path / "link.txt")
    result, files, model = record(tmp_path, """
with open("link.txt", "w") as handle:
    handle.write("new content")
os.symlink("data/real.txt", "second_link.txt")
""", engine)
    real, link = str(tmp_path / "data" / "real.txt"), str(tmp_path / "link.txt")
    writes = [event for event in files if event[1] == "write"]
    assert [(event[2], event[5]) for event in writes] == [(real, {"via": link})]
    assert ("symlink", str(tmp_path / "second_link.txt"), real) in ops(files)
    assert model.digests[(real, 1)][1] == xxh(b"new content")
    doc = prov.read(next(result.store.iterdir()) / "provenance.json", format="json")
    (entity,) = [e for e in doc.get_records(prov.model.ProvEntity) if str(next(iter(e.get_attribute("prov:location")), "")) == real]
    assert {str(v) for v in entity.get_attribute("autoprov:link_path")} == {link}


def test_one_copy_makes_one_version(tmp_path: Path, engine: str) -> None:
    (tmp_path / "a.txt").write_text("original")
    _, files, model = record(tmp_path, 'shutil.copy("a.txt", "c.txt")\nshutil.copy2("a.txt", "d.txt")', engine)
    for name in ("c.txt", "d.txt"):
        target = str(tmp_path / name)
        assert [op for op, path, extra in ops(files) if target in (path, extra)] == ["copy"]
        assert sorted(version for path, version in model.digests if path == target) == [1]
        assert model.digests[(target, 1)][1] == xxh(b"original")


def test_failed_operations_are_left_out(tmp_path: Path, engine: str) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "exists.txt").write_text("x")
    attempts = [
        'open("missing.txt")', 'open("no/such/folder.txt", "w")', 'open("folder", "w")', 'open("exists.txt", "x")',
        'open("missing.txt", "r+")', 'os.remove("missing.txt")', 'os.remove("folder")', 'os.rename("missing.txt", "y.txt")',
        'os.rename("exists.txt", "no/such/y.txt")', 'os.mkdir("folder")', 'os.link("missing.txt", "l.txt")',
        'os.link("exists.txt", "folder")', 'os.truncate("missing.txt", 0)', 'shutil.copy("missing.txt", "c.txt")',
        'shutil.copyfile("exists.txt", "exists.txt")', 'shutil.rmtree("missing")', 'os.symlink("exists.txt", "folder")',
    ]
    body = "\n".join(f"try:\n    {attempt}\nexcept OSError:\n    pass\nelse:\n    raise SystemExit('did not fail: {attempt}')" for attempt in attempts)
    _, files, model = record(tmp_path, body.replace("\n", "\n"), engine)
    assert files == []
    assert model.used == [] and model.generated == []


def test_unclosed_file_and_exit_handler_writes_have_their_final_content(tmp_path: Path, engine: str) -> None:
    (tmp_path / "main.py").write_text(
        "import atexit\n"
        "def step():\n"
        "    global handle\n"
        "    handle = open('left_open.txt', 'w')\n"
        "    handle.write('still in the buffer when the program ends')\n"
        "def goodbye():\n"
        "    with open('at_exit.txt', 'w') as out:\n"
        "        out.write('written by an exit handler')\n"
        "atexit.register(goodbye)\n"
        "step()\n"
    )
    result = run_autoprov(["main.py"], tmp_path, engine=engine, options=MATCH)
    assert result.returncode == 0, result.stderr
    model = run_model.build(result.events)
    left_open, at_exit = str(tmp_path / "left_open.txt"), str(tmp_path / "at_exit.txt")
    assert model.digests[(left_open, 1)][1:3] == (xxh(b"still in the buffer when the program ends"), 41)
    assert model.digests[(at_exit, 1)][1] == xxh(b"written by an exit handler")
    assert (tmp_path / "at_exit.txt").read_text() == "written by an exit handler"  # the program is unchanged


def test_any_byte_string_as_a_name_in_every_output_format(tmp_path: Path, engine: str) -> None:
    names = [b"caf\xe9 latin-1.txt", b"control\x01char.txt", b"new\nline.txt", "ünïcode.txt".encode()]
    body = "for name in %r:\n    with open(os.fsdecode(name), 'w') as handle:\n        handle.write('x')" % names
    result, files, _ = record(tmp_path, body, engine, options=["--export", "sync", "--graph", "svg"])
    run_dir = next(p for p in result.store.iterdir() if (p / "events.jsonl").exists())
    assert sorted(os.fsencode(path) for _, path, _ in ops(files)) == sorted(os.fsencode(str(tmp_path)) + b"/" + n for n in names)
    doc = prov.read(run_dir / "provenance.json", format="json")
    located, exact = {}, set()
    for entity in doc.get_records(prov.model.ProvEntity):
        location = str(next(iter(entity.get_attribute("prov:location")), ""))
        if entity.get_attribute("autoprov:path_bytes"):  # a name no text format can hold as it is
            located[bytes.fromhex(str(next(iter(entity.get_attribute("autoprov:path_bytes")))))] = location
        elif location.startswith(str(tmp_path) + "/") and not location.endswith("main.py"):  # not the script
            exact.add(location)
    assert set(located) == {os.fsencode(str(tmp_path)) + b"/" + n for n in names[:2]}  # exact bytes kept
    assert located[os.fsencode(str(tmp_path)) + b"/caf\xe9 latin-1.txt"].endswith("caf\\xe9 latin-1.txt")
    assert located[os.fsencode(str(tmp_path)) + b"/control\x01char.txt"].endswith("control\\x01char.txt")
    assert exact == {str(tmp_path) + "/" + n.decode() for n in names[2:]}  # valid text stays as it is
    assert len(prov.read(run_dir / "provenance.xml", format="xml").records) == len(doc.records)
    import rdflib

    assert len(rdflib.Graph().parse(run_dir / "provenance.ttl", format="turtle")) > 0
    assert (run_dir / "provenance.provn").read_text(encoding="utf-8").startswith("document")
    assert (run_dir / "graph.svg").read_text(encoding="utf-8").lstrip().startswith(("<?xml", "<svg"))
    assert "caf\\xe9 latin-1.txt" in (run_dir / "report.html").read_text(encoding="utf-8")
    for fmt in ("json", "provn", "xml", "ttl", "html"):
        done = subprocess.run([sys.executable, "-m", "autoprov", "export", run_dir.name, "--store", str(result.store), "--format", fmt,
                               "-o", "-"], capture_output=True, env=environment())
        assert done.returncode == 0, done.stderr
        done.stdout.decode("utf-8")  # valid text


def test_exclusions_are_whole_folders_listed_in_the_record(tmp_path: Path, engine: str) -> None:
    home = tmp_path / "home"
    (home / ".config" / "myanalysis").mkdir(parents=True)
    (home / ".config" / "myanalysis" / "settings.txt").write_text("user settings")
    (home / ".config" / "matplotlib").mkdir(parents=True)
    (home / ".config" / "matplotlib" / "matplotlibrc").write_text("library settings")
    (home / ".cache").mkdir()
    store = tmp_path / ".prov"
    result, files, model = record(tmp_path, f"""
open({str(home / '.config' / 'myanalysis' / 'settings.txt')!r}).read()
open({str(home / '.config' / 'matplotlib' / 'matplotlibrc')!r}).read()
open({str(home / '.cache' / 'my_results.txt')!r}, "w").write("mine")
open(".prov_notes.txt", "w").write("notes")
open("result.py", "w").write("x = 1")
""", engine, store=store, env={"HOME": str(home), "XDG_CACHE_HOME": "", "XDG_CONFIG_HOME": ""})
    recorded = {path for _, path, _ in ops(files)}
    assert recorded == {str(home / ".config" / "myanalysis" / "settings.txt"), str(home / ".cache" / "my_results.txt"),
                        str(tmp_path / ".prov_notes.txt"), str(tmp_path / "result.py")}
    left_out = model.scope["folders"]
    assert str(store) in left_out and str(home / ".config" / "matplotlib") in left_out
    assert str(home / ".config") not in left_out and str(home / ".cache") not in left_out
    run_dir = next(p for p in store.iterdir() if (p / "events.jsonl").exists())
    assert json.loads((run_dir / "environment.json").read_text())["left_out_of_record"]["folders"] == left_out
    doc = prov.read(run_dir / "provenance.json", format="json")
    (environment_entity,) = [e for e in doc.get_records(prov.model.ProvEntity) if str(e.identifier).endswith("environment")]
    assert str(store) in str(next(iter(environment_entity.get_attribute("autoprov:left_out_of_record"))))


def test_the_programs_own_modules_are_recorded_with_their_digests(tmp_path: Path, engine: str) -> None:
    (tmp_path / "helpers.py").write_text("VALUE = 42\n")
    (tmp_path / "mypkg").mkdir()
    (tmp_path / "mypkg" / "__init__.py").write_text("")
    (tmp_path / "mypkg" / "tools.py").write_text("def twice(x):\n    return 2 * x\n")
    (tmp_path / "main.py").write_text("import json, helpers\nfrom mypkg.tools import twice\ndef step():\n    return twice(helpers.VALUE)\nprint(step())\n")
    result = run_autoprov(["main.py"], tmp_path, engine=engine, options=MATCH)
    assert result.returncode == 0 and result.stdout.strip() == "84", result.stderr
    imports = {event[6]["module"]: event[3] for event in result.of_kind("file") if event[2] == "import"}
    assert {name: imports[name] for name in ("helpers", "mypkg", "mypkg.tools")} == {
        "helpers": str(tmp_path / "helpers.py"), "mypkg": str(tmp_path / "mypkg" / "__init__.py"), "mypkg.tools": str(tmp_path / "mypkg" / "tools.py")}
    assert "json" not in imports and "autoprov" not in imports
    assert str(tmp_path / "main.py") not in imports.values()  # the script is the plan, not a module
    model = run_model.build(result.events)
    assert model.digests[(str(tmp_path / "mypkg" / "tools.py"), 0)][1] == xxh((tmp_path / "mypkg" / "tools.py").read_bytes())
    assert any(link.act is None and link.role == "module" and link.entity[1] == str(tmp_path / "helpers.py") for link in model.used)
