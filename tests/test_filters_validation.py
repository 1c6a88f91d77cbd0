"""Broken and hostile filter files: each stops with one exact line naming file, line and column."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from autoprov.errors import FilterError
from autoprov.filtering.locate import FilterRef, load

DATA = Path(__file__).parent / "data" / "filters"

BROKEN = [
    ("alias.yaml", "2:13: YAML alias '*b' is not allowed in filters (write the value out)"),
    ("alias_bomb.yaml", "2:8: YAML alias '*a' is not allowed in filters (write the value out)"),
    ("any_module.yaml", "2:15: activities[0].function[0]: pattern '*:run' would match functions of every module; start it with a module name"),
    ("bad_key.yaml", "3:37: activities[0].parameters[0].key: input should be a valid boolean (got 'yes please')"),
    ("bad_kind.yaml", "4:42: activities[0].used[0].kind: input should be 'PythonObject', 'File', 'FileCollection' or 'Collection' (got 'Blob')"),
    ("bad_nested.yaml", "3:13: activities[0].nested: input should be a valid boolean, unable to interpret input (got 'maybe')"),
    ("bad_parameters_word.yaml", "3:17: activities[0].parameters: input should be 'all' or 'none' (got 'al')"),
    ("bad_version.yaml", "1:10: version: input should be 1 (got 2)"),
    ("both_selections.yaml", "2:5: activities[0]: give either 'function' or 'methods' with 'of', not both"),
    ("dotted_argument.yaml", "3:18: activities[0].parameters[0]: parameter 'x.y': an argument is recorded whole; dotted paths are for 'self.' (or use 'results')"),
    ("duplicate_key.yaml", "3:5: key 'function' appears twice in the same mapping"),
    ("entity_typo.yaml", "2:22: unknown key 'contentTyp' in entities.Data; did you mean 'contentType'?"),
    ("invalid_yaml.yaml", "2:3: invalid YAML: expected the node content, but found '-'"),
    ("match_everything.yaml", "2:15: activities[0].function[0]: pattern '*:*' would match functions of every module; start it with a module name"),
    ("methods_without_of.yaml", "2:5: activities[0]: no selection: add 'of'"),
    ("missing_role.yaml", "4:9: activities[0].used[0]: missing required key 'role'"),
    ("misspelt_key.yaml", "3:5: unknown key 'paramters' in activities[0]; did you mean 'parameters'?"),
    ("modules_without_of.yaml", "3:5: activities[0]: 'modules' only applies with 'of'"),
    ("no_colon.yaml", "2:15: activities[0].function[0]: pattern 'mypkg.run' must look like 'module:qualname' (globs allowed, e.g. 'mypkg.*:Reducer.run')"),
    ("no_selection.yaml", "2:5: activities[0]: no selection: add 'function' (or 'methods' with 'of')"),
    ("of_object.yaml", "3:9: activities[0].of: every class derives from 'builtins.object': this would match everything"),
    ("of_without_methods.yaml", "2:5: activities[0]: no selection: add 'methods'"),
    ("pig17_typo.yaml", "3:5: unknown key 'descripton' in activities.get_observations; did you mean 'description'?"),
    ("return_in_used.yaml", "4:29: activities[0].used[0].source: entity source 'return': the return value does not exist when the call starts (use 'generated' or 'results')"),
    ("top_list.yaml", "1:1: the file holds a list; a filter is a mapping with 'activities'"),
    ("top_scalar.yaml", "1:1: the file holds a single value; a filter is a mapping with 'activities'"),
    ("unknown_entity.yaml", "4:44: activities[0].used[0]: unknown entity 'Dataz'; did you mean 'Datas'?"),
    ("whitespace.yaml", "2:15: activities[0].function[0]: pattern 'mypkg:run me' contains white space"),
]
WHOLE_FILE = [
    ("binary.yaml", "binary file (contains NUL bytes), not a YAML filter"),
    ("empty.yaml", "empty file: a filter is a mapping with 'activities' (see docs/filters.md)"),
]


def error_of(spec: str, base: Path = DATA) -> str:
    with pytest.raises(FilterError) as caught:
        load(FilterRef(spec, "test", base), use_cache=False)
    return str(caught.value)


@pytest.mark.parametrize("name, message", BROKEN)
def test_broken_file_names_line_column_and_problem(name: str, message: str) -> None:
    assert error_of(f"broken/{name}") == f"filter broken/{name}:{message} [AP002]"


@pytest.mark.parametrize("name, message", WHOLE_FILE)
def test_broken_whole_file(name: str, message: str) -> None:
    assert error_of(f"broken/{name}") == f"filter broken/{name}: {message} [AP002]"


def test_every_broken_file_is_tested() -> None:
    tested = {name for name, _ in BROKEN + WHOLE_FILE}
    assert tested == {path.name for path in (DATA / "broken").iterdir()}
    assert len(tested) >= 20


def test_huge_file_is_refused_without_parsing(tmp_path: Path) -> None:
    (tmp_path / "huge.yaml").write_text("activities: []\n" + "# padding\n" * 200_000)
    assert error_of("huge.yaml", tmp_path) == f"filter huge.yaml: file is {15 + 2_000_000} bytes, more than the 1048576 bytes a filter may have [AP002]"


def test_not_utf8_is_refused(tmp_path: Path) -> None:
    (tmp_path / "latin.yaml").write_bytes(b"description: caf\xe9\n")
    assert error_of("latin.yaml", tmp_path) == "filter latin.yaml: not UTF-8 text (byte 16), not a YAML filter [AP002]"


def test_python_tags_are_not_constructed(tmp_path: Path) -> None:
    (tmp_path / "tag.yaml").write_text("description: !!python/object/apply:os.system ['echo pwned']\n")
    assert error_of("tag.yaml", tmp_path).startswith("filter tag.yaml:1:14: invalid YAML: could not determine a constructor")


def test_unknown_shipped_name() -> None:
    assert error_of("gamapy") == (
        "filter 'gamapy' (from test): no such file and no shipped filter of that name; shipped: gammapy [AP002]"
    )


def test_broken_filter_stops_the_run_before_the_script(tmp_path: Path) -> None:
    script = tmp_path / "script.py"
    script.write_text("open('ran', 'w').write('yes')\n")
    filter_file = DATA / "broken" / "misspelt_key.yaml"
    done = subprocess.run([sys.executable, "-m", "autoprov", "--store", str(tmp_path / "store"), "--filter", str(filter_file), str(script)],
                          cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr == (f"autoprov: error: filter {filter_file}:3:5: unknown key 'paramters' in activities[0]; "
                           "did you mean 'parameters'? [AP002]\n")
    assert not (tmp_path / "ran").exists()
