"""The audit hook sees every file the program touches, attributed to the innermost activity."""

from __future__ import annotations

import os
from pathlib import Path

import xxhash

from conftest import run_autoprov

MATCH = ["--match", "toy.io:*"]


def file_events(result) -> list[tuple]:
    acts = result.activities()
    rows = []
    for event in result.of_kind("file"):
        if event[2] == "import":
            continue  # the program's own modules (toy), recorded at the end: not its I/O
        act = acts[event[1]]["name"].rsplit(".", 1)[-1] if event[1] is not None else None
        rows.append((act, event[2], event[3], event[5]))
    return rows


def digests(result) -> dict[tuple[str, int], str]:
    return {(e[1], e[2]): e[4] for e in result.of_kind("digest")}


def xxh(path: Path) -> str:
    return xxhash.xxh3_128_hexdigest(path.read_bytes())


def test_read_write_and_read_back(tmp_path: Path, engine: str) -> None:
    (tmp_path / "main.py").write_text(
        "from toy.io import *\n"
        "write_text('data.txt', 'first')\n"
        "assert read_text('data.txt') == 'first'\n"
        "append_text('data.txt', '+more')\n"
        "write_text('data.txt', 'second')\n"
    )
    result = run_autoprov(["main.py"], tmp_path, engine=engine, options=MATCH)
    assert result.returncode == 0, result.stderr
    path = str(tmp_path / "data.txt")
    assert file_events(result) == [
        ("write_text", "write", path, 1),
        ("read_text", "read", path, 1),  # the version written just before: one entity
        ("append_text", "write", path, 2),
        ("write_text", "write", path, 3),
    ]
    found = digests(result)
    assert found[(path, 1)] == xxhash.xxh3_128_hexdigest(b"first")
    assert found[(path, 2)] == xxhash.xxh3_128_hexdigest(b"first+more")
    assert found[(path, 3)] == xxh(tmp_path / "data.txt")


def test_rename_copy_remove_mkdir_listdir(tmp_path: Path, engine: str) -> None:
    for name in "abc":
        (tmp_path / f"{name}.txt").write_text(name * 3)
    expected_b = xxh(tmp_path / "b.txt")
    expected_c = xxh(tmp_path / "c.txt")
    (tmp_path / "main.py").write_text("import os\nfrom toy.io import shuffle\nprint(shuffle(os.getcwd()))\n")
    result = run_autoprov(["main.py"], tmp_path, engine=engine, options=MATCH)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['copy.txt', 'moved.txt']"
    d = str(tmp_path)
    ops = [(act, op, path, extra) for act, op, path, extra in file_events(result)]
    assert ("shuffle", "mkdir", f"{d}/out", None) in ops
    assert ("shuffle", "copy", f"{d}/a.txt", f"{d}/out/copy.txt") in ops
    assert ("shuffle", "rename", f"{d}/b.txt", f"{d}/out/moved.txt") in ops
    assert ("shuffle", "remove", f"{d}/c.txt", None) in ops
    assert ("shuffle", "listdir", f"{d}/out", None) in ops
    found = digests(result)
    assert found[(f"{d}/out/moved.txt", 1)] == expected_b  # content known from before the rename
    assert found[(f"{d}/c.txt", 0)] == expected_c  # hashed before it was removed
    assert found[(f"{d}/out/copy.txt", 1)] == xxh(tmp_path / "out" / "copy.txt")


def test_paths_are_absolute_after_chdir_and_os_open_is_seen(tmp_path: Path, engine: str) -> None:
    (tmp_path / "work").mkdir()
    (tmp_path / "main.py").write_text(
        "import os\nfrom toy.io import *\nos.chdir('work')\nwrite_text('rel.txt', 'x')\nlow_level('raw.bin')\n"
    )
    result = run_autoprov(["main.py"], tmp_path, engine=engine, options=MATCH)
    assert result.returncode == 0, result.stderr
    rows = file_events(result)
    assert ("write_text", "write", str(tmp_path / "work" / "rel.txt"), 1) in rows
    assert ("low_level", "write", str(tmp_path / "work" / "raw.bin"), 1) in rows
    assert digests(result)[(str(tmp_path / "work" / "raw.bin"), 1)] == xxhash.xxh3_128_hexdigest(b"raw")


def test_files_outside_activities_belong_to_the_run_and_imports_are_ignored(tmp_path: Path, engine: str) -> None:
    (tmp_path / "input.csv").write_text("1,2\n")
    (tmp_path / "main.py").write_text("import json, email.mime.text\nprint(open('input.csv').read())\n")
    result = run_autoprov(["main.py"], tmp_path, engine=engine, options=MATCH)
    rows = file_events(result)
    assert rows == [(None, "read", str(tmp_path / "input.csv"), 0)]
    assert digests(result)[(str(tmp_path / "input.csv"), 0)] == xxh(tmp_path / "input.csv")


def test_store_files_are_not_recorded(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text("import os\nprint(len(os.listdir('.')))\n")
    result = run_autoprov(["main.py"], tmp_path, options=MATCH)
    assert all(not e[3].startswith(str(result.store)) for e in result.of_kind("file"))
    assert os.path.isdir(result.store)
