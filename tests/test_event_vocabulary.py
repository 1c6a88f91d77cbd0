"""The event vocabulary has one owner (autoprov.events): the log reader checks, and the model reads, every kind."""

from __future__ import annotations

from autoprov import events
from autoprov.export.model import _Builder
from autoprov.log import merge, reader

# what a well-formed event of each kind looks like, field by field
SAMPLES = {
    "str": "x", "str?": None, "int": 1, "int?": None, "dict": {}, "dict?": None, "hex": "ab12", "algorithm": "xxh3_128", "any": None,
}
WRONG = {"str": 1, "str?": 1, "int": "x", "int?": "x", "dict": 1, "dict?": 1, "hex": "zz", "algorithm": "no such!", "any": None}
# kinds the merge of a run's processes turns into others before the model reads them
MERGED = {events.PROC: "the process activity", events.CMDPID: "the command's process"}


def test_every_kind_has_a_shape() -> None:
    assert set(events.SHAPES) == set(events.KINDS)
    assert len(set(events.KINDS)) == len(events.KINDS)


def test_the_reader_checks_every_kind() -> None:
    for kind, shape in events.SHAPES.items():
        assert reader.problem([kind, *(SAMPLES[field] for field in shape)]) is None, kind
        for index, field in enumerate(shape):
            if WRONG[field] is None:
                continue
            fields = [SAMPLES[name] for name in shape]
            fields[index] = WRONG[field]
            assert reader.problem([kind, *fields]) is not None, (kind, index)
        needed = len(shape) - events.OPTIONAL_FIELDS.get(kind, 0)
        assert reader.problem([kind, *(SAMPLES[field] for field in shape[: needed - 1])]) is not None, kind


def test_the_model_or_the_merge_reads_every_kind() -> None:
    handled = set(_Builder().handlers)
    for kind in events.KINDS:
        assert kind in handled or kind in MERGED, kind
    source = merge.__file__ and open(merge.__file__, encoding="utf-8").read()
    for kind in MERGED:
        assert f"events.{kind.upper()}" in source, kind
