"""Object lineage through in-place updates, unrecorded mutations and fresh wrappers, on every engine.

A small library written for the test (``cubes``) has the patterns of gammapy that break an
identity-only record: a cube filled in place (``stack``), a change the filter does not record
(``cube.data[0] = ...`` in the script), and a property that returns a new wrapper on each access
around the same model objects, which a fit changes in place.  Each product's lineage is read back
from the PROV-JSON with :mod:`lineage`: the input files it reaches must be exactly its inputs.
"""

from __future__ import annotations

from pathlib import Path

import prov

from conftest import run_autoprov
from lineage import Lineage

LIBRARY = '''
import numpy


class Model:
    def __init__(self):
        self.amplitude = 1.0


class Models:
    def __init__(self, models):
        self._models = list(models)

    def __iter__(self):
        return iter(self._models)

    def __len__(self):
        return len(self._models)


class Cube:
    def __init__(self, name):
        self.name = name
        self.data = numpy.zeros(4)
        self.model = Model()

    def stack(self, other):
        self.data += other.data


class Cubes:
    def __init__(self, cubes):
        self._cubes = list(cubes)

    def __iter__(self):
        return iter(self._cubes)

    def __len__(self):
        return len(self._cubes)

    @property
    def models(self):
        return Models(cube.model for cube in self._cubes)  # a new wrapper on every access


def make(filename):
    cube = Cube(filename)
    with open(filename) as handle:
        cube.data[:] = float(handle.read())
    return cube


def fit(cubes):
    for model in cubes.models:
        model.amplitude = sum(float(cube.data.sum()) for cube in cubes)


def save(obj, filename):
    with open(filename, "w") as handle:
        handle.write(repr(getattr(obj, "data", None)) + repr([m.amplitude for m in obj] if isinstance(obj, Models) else ""))
'''

FILTER = '''
entities:
  Cube: {types: "cubes:Cube", state: [name, data]}
  Cubes: {kind: Collection, types: "cubes:Cubes"}
  Model: {types: "cubes:Model", state: [amplitude]}
  Models: {kind: Collection, types: "cubes:Models"}
activities:
  - function: cubes:make
    parameters: none
    used: [{role: input, source: filename, kind: File}]
    generated: [{role: cube, source: return, entity: Cube}]
  - function: cubes:Cube.stack
    parameters: none
    used: [{role: cube, source: self}, {role: other, source: other}]
    generated: [{role: cube, source: self}]
  - function: cubes:fit
    parameters: none
    used: [{role: cubes, source: cubes}, {role: models, source: cubes.models}]
    generated: [{role: fitted_models, source: cubes.models}]
  - function: cubes:save
    parameters: none
    used: [{role: object, source: obj}]
    generated: [{role: file, source: filename, kind: File}]
'''

SCRIPT = '''
import cubes

one, two, three = cubes.make("input_1.txt"), cubes.make("input_2.txt"), cubes.make("input_3.txt")
total = cubes.Cube("total")  # made in the script, filled in place by recorded calls
total.stack(one)
total.stack(two)
cubes.save(total, "total.txt")
cubes.save(two, "two.txt")
cubes.save(two, "two_again.txt")
one.data[0] = 99.0  # a change no recorded call made
cubes.save(one, "one_changed.txt")
group = cubes.Cubes([one, two])
cubes.fit(group)
cubes.save(group.models, "models.txt")  # another fresh wrapper around the fitted models
'''


def run(tmp_path: Path, engine: str) -> tuple[Lineage, prov.model.ProvDocument, Path]:
    (tmp_path / "cubes.py").write_text(LIBRARY)
    (tmp_path / "cubes.yaml").write_text(FILTER)
    (tmp_path / "main.py").write_text(SCRIPT)
    for n in (1, 2, 3):
        (tmp_path / f"input_{n}.txt").write_text(str(n))
    result = run_autoprov(["main.py"], tmp_path, engine=engine, options=["--filter", "cubes.yaml"])
    assert result.returncode == 0, result.stderr
    run_dir = next(p for p in result.store.iterdir() if (p / "events.jsonl").exists())
    doc = prov.read(run_dir / "provenance.json", format="json")
    return Lineage(doc), doc, run_dir


def test_products_reach_exactly_their_inputs(tmp_path: Path, engine: str) -> None:
    lineage, _, _ = run(tmp_path, engine)

    def inputs(product: str) -> set[str]:
        found = lineage.sources(tmp_path / product, lambda location: Path(location).name.startswith("input_"))
        assert found is not None, f"{product} is not in the record"
        return {Path(location).name for location in found}

    assert inputs("total.txt") == {"input_1.txt", "input_2.txt"}  # filled in place by two stacks
    assert inputs("two.txt") == {"input_2.txt"}
    assert inputs("one_changed.txt") == {"input_1.txt"}  # the unrecorded change did not cut the chain
    assert inputs("models.txt") == {"input_1.txt", "input_2.txt"}  # a fresh wrapper: its members came from the fit


def test_versions_are_revisions_and_unchanged_objects_stay_one_entity(tmp_path: Path, engine: str) -> None:
    _, doc, run_dir = run(tmp_path, engine)
    doc = doc.unified()
    revisions = [r for r in doc.get_records(prov.model.ProvDerivation)
                 if any(str(value) == "prov:Revision" for value in r.get_attribute("prov:type"))]
    labels = {str(a.identifier): str(next(iter(a.get_attribute("prov:label")))) for a in doc.get_records(prov.model.ProvActivity)}
    by_activity = {}
    for revision in revisions:
        label = labels[str(next(iter(revision.get_attribute("prov:activity"))))]
        by_activity.setdefault("run" if label.startswith("run of") else label, []).append(revision)
    assert len(by_activity.get("cubes.Cube.stack", [])) == 2  # each stack made a new version of total
    assert len(by_activity.get("run", [])) == 1  # one.data[0] = ...: changed between recorded calls
    assert len(by_activity.get("cubes.fit", [])) == 2  # the two fitted models
    used_by_save = {}
    for usage in doc.get_records(prov.model.ProvUsage):
        activity = str(next(iter(usage.get_attribute("prov:activity"))))
        if labels.get(activity) == "cubes.save":
            used_by_save[activity] = str(next(iter(usage.get_attribute("prov:entity"))))
    saves = [used_by_save[a] for a in sorted(used_by_save, key=lambda a: int(a.rsplit("_", 1)[1]))]
    assert saves[1] == saves[2]  # two.txt and two_again.txt: the same, unchanged object
    assert saves[3] != saves[0]
    assert (run_dir / "graph.dot").read_text().count('label="revised"') == len(revisions)  # drawn, so the chain shows
