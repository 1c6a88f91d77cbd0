"""A lineage checker over a PROV document read back with ``prov.read``: what did a product come from?

The walk goes backwards from an entity, along the relations a reader of the record would follow:

* ``wasGeneratedBy(entity, activity)``: the entity came from that activity;
* ``used(activity, entity)``: the activity came from what it used;
* ``wasDerivedFrom(entity, source)``: the entity came from its source (copies, revisions);
* ``hadMember(collection, member)``: a collection came from its members.

Nothing else: not ``wasStartedBy`` (an enclosing call is not an input), not membership read
backwards (a member does not come from the other members of its collection).  The source files a
product reaches are its lineage, and a record is right when that set is exactly the inputs the
product was computed from.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import prov.model
import xxhash


def _one(record, name):
    values = record.get_attribute(name)
    return next(iter(values)) if values else None


class Lineage:
    """Backward edges of a PROV document, and the file entities by location."""

    def __init__(self, doc: prov.model.ProvDocument) -> None:
        doc = doc.unified()
        self.back: dict[str, set[str]] = defaultdict(set)
        self.generated: set[str] = set()
        for record in doc.get_records(prov.model.ProvGeneration):
            entity, activity = str(_one(record, "prov:entity")), str(_one(record, "prov:activity"))
            self.back[entity].add(activity)
            self.generated.add(entity)
        for record in doc.get_records(prov.model.ProvUsage):
            self.back[str(_one(record, "prov:activity"))].add(str(_one(record, "prov:entity")))
        for record in doc.get_records(prov.model.ProvDerivation):
            self.back[str(_one(record, "prov:generatedEntity"))].add(str(_one(record, "prov:usedEntity")))
        for record in doc.get_records(prov.model.ProvMembership):
            self.back[str(_one(record, "prov:collection"))].add(str(_one(record, "prov:entity")))
        self.location: dict[str, str] = {}
        self.digest: dict[str, str] = {}
        for entity in doc.get_records(prov.model.ProvEntity):
            location = _one(entity, "prov:location")
            if location is not None:
                self.location[str(entity.identifier)] = str(location)
                digest = _one(entity, "autoprov:digest")
                if digest is not None:
                    self.digest[str(entity.identifier)] = str(digest)

    def ancestors(self, start: str) -> set[str]:
        seen, todo = {start}, [start]
        while todo:
            for previous in self.back.get(todo.pop(), ()):
                if previous not in seen:
                    seen.add(previous)
                    todo.append(previous)
        return seen

    def product(self, path: Path) -> str | None:
        """The generated entity holding the final content of the file at ``path``, if any."""
        digest = xxhash.xxh3_128(path.read_bytes()).hexdigest()
        for identifier, location in self.location.items():
            if location == str(path) and self.digest.get(identifier) == digest and identifier in self.generated:
                return identifier
        return None

    def sources(self, path: Path, is_source) -> set[str] | None:
        """Locations of the source files (``is_source(location)``) the product at ``path`` reaches;
        None when the product is not in the record at all."""
        product = self.product(path)
        if product is None:
            return None
        return {self.location[e] for e in self.ancestors(product) if e in self.location and is_source(self.location[e])}
