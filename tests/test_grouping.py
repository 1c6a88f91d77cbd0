"""The rule that makes a loop one node (autoprov/export/grouping.py), on small hand-made runs."""

from __future__ import annotations

from autoprov.export.grouping import find_groups
from autoprov.export.model import Activity, Link, RunModel
from autoprov.export.renderers.dot import to_dot


def loop_run(passes: int, first_pass_differs: bool = True) -> RunModel:
    """A script that prepares a dataset, then sets its model, fakes and fits it ``passes`` times."""
    model = RunModel()
    model.run_id = "loop"
    act = 0

    def call(name: str, used: list[tuple[str, int]], generated: list[tuple[str, int]], parent: int | None = None) -> int:
        nonlocal act
        act += 1
        model.activities[act] = Activity(act, parent, name, "r", act, "MainThread", {}, act, "completed")
        model.used += [Link(act, role, ("obj", key), act) for role, key in used]
        model.generated += [Link(act, role, ("obj", key), act) for role, key in generated]
        return act

    for key, kind in ((1, "Dataset"), (2, "Model")):
        model.objects[key] = {"type": f"pkg.{kind}"}
    call("pkg.Maker.run", [], [("dataset", 1)])
    for number in range(passes):
        result = 100 + number
        model.objects[result] = {"type": "pkg.FitResult"}
        # the first pass's setter makes a new version of the dataset; later ones do not
        call("pkg.Dataset.models", [("dataset", 1), ("models", 2)], [("dataset", 1)] if number == 0 and first_pass_differs else [])
        call("pkg.Dataset.fake", [("dataset", 1)], [])
        fit = call("pkg.Fit.run", [("datasets", 1)], [("fit_result", result)])
        for _ in range(3 + number % 2):  # the optimiser loops 3 or 4 times: the same step
            call("pkg.Fit.optimize", [], [], parent=fit)
    return model


def names(model: RunModel, acts: list[int]) -> list[str]:
    return [model.activities[act].name.rsplit(".", 2)[-2] + "." + model.activities[act].name.rsplit(".", 1)[-1] for act in acts]


def test_a_loop_is_one_group_from_its_first_pass():
    model = loop_run(100)
    groups = [group for group in find_groups(model) if group.parent is None]
    assert len(groups) == 1
    (loop,) = groups
    assert loop.count == 100 and names(model, loop.first) == ["Dataset.models", "Dataset.fake", "Fit.run"]
    text = to_dot(model)
    assert "100 x (Dataset.models -> Dataset.fake -> Fit.run)" in text
    assert "FitResult" not in text  # made and used by the loop alone: its node says enough
    assert "Fit.optimize" not in text and text.count("->") < 10


def test_two_passes_are_not_a_loop_and_all_draws_every_call():
    model = loop_run(2)
    assert [group for group in find_groups(model) if group.parent is None] == []
    text = to_dot(loop_run(5), grouped=False, collapse=False)
    assert " x (" not in text and text.count('label="Fit.run') == 5
