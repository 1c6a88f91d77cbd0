"""``autoprov filters schema``: the filter language as a JSON Schema, checked with the jsonschema library.

The schema is generated from the validator's pydantic models, so every filter the validator
accepts must validate against it, and a file with a misspelt or mistyped key must be refused by
both (the schema checks shape; meaning, such as a pattern that selects everything, stays with the
validator).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from autoprov.errors import FilterError
from autoprov.filtering.locate import FilterRef, load

from conftest import REPO, TESTS

FILTERS = TESTS / "data" / "filters"
ACCEPTED = sorted((REPO / "filters").glob("*.yaml")) + [FILTERS / "photonpipe.yaml"] + sorted((FILTERS / "pkg").rglob("*.yaml"))
PIG17 = REPO.parent / "shared" / "reference" / "pig17-prototype-definition.yaml"
# broken in shape or spelling: refused by the schema and by the validator
MISSHAPEN = ["misspelt_key", "entity_typo", "bad_kind", "bad_nested", "bad_version", "bad_parameters_word", "missing_role",
             "pig17_typo", "top_list", "top_scalar"]


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    printed = subprocess.run([sys.executable, "-m", "autoprov", "filters", "schema"], capture_output=True, text=True, check=True)
    schema = json.loads(printed.stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("path", ACCEPTED + ([PIG17] if PIG17.exists() else []), ids=lambda p: p.name)
def test_every_filter_the_validator_accepts_validates(validator: jsonschema.Draft202012Validator, path: Path) -> None:
    load(FilterRef(str(path), "test", path.parent), use_cache=False)  # the validator accepts it ...
    errors = [error.message for error in validator.iter_errors(yaml.safe_load(path.read_text()))]
    assert errors == []  # ... and so does the schema


def test_the_shipped_filters_are_checked() -> None:
    assert [path.name for path in ACCEPTED][:1] == ["gammapy.yaml"]


@pytest.mark.parametrize("name", MISSHAPEN)
def test_a_misshapen_file_is_refused_by_both(validator: jsonschema.Draft202012Validator, name: str) -> None:
    path = FILTERS / "broken" / f"{name}.yaml"
    assert not validator.is_valid(yaml.safe_load(path.read_text()))
    with pytest.raises(FilterError):
        load(FilterRef(str(path), "test", path.parent), use_cache=False)


def test_both_spellings_and_one_string_for_a_list_are_accepted(validator: jsonschema.Draft202012Validator) -> None:
    """What the models accept beyond pydantic's own schema: a field's name beside its alias, a string for a list."""
    data = {"entities": {"Events": {"kind": "File", "content_type": "application/fits"}},
            "activities": [{"function": "mypkg:read", "used": [{"role": "events", "source": "path", "entity": "Events"}]}],
            "exclude": "mypkg:_*"}
    assert validator.is_valid(data)
    data["entities"]["Events"]["contentTyp"] = "x"
    assert not validator.is_valid(data)


@pytest.mark.slow  # `filters check` imports the gammapy modules the filter names
def test_the_readme_commands_run(tmp_path: Path) -> None:
    from readme_blocks import commands, run

    (tmp_path / "my_filter.yaml").write_text((REPO / "filters" / "gammapy.yaml").read_text())
    lines = commands("Filter files in editors")
    assert len(lines) == 2
    for line in lines:
        result = run(line, tmp_path)
        assert result.returncode == 0, (line, result.stderr)
    jsonschema.Draft202012Validator.check_schema(json.loads((tmp_path / "autoprov-filter.schema.json").read_text()))
