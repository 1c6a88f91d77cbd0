"""Model keys to PROV ids: which id the documents give each entity of a :class:`RunModel`.

Read off the statements themselves, so that the report, the FITS embedding and the documents can
never disagree on a name (a file version is named by its content digest unless another path or
version with the same content took that name first: only the statements know the order).
"""

from __future__ import annotations

from collections.abc import Iterable

from .model import EntityKey, RunModel
from .statements import Statement, statements


def entity_ids(model: RunModel, stream: Iterable[Statement] | None = None) -> dict[EntityKey, str]:
    """Entity key -> its id in the PROV documents (``stream``: the model's statements, if at hand)."""
    ids: dict[EntityKey, str] = {}
    for kind, identifier, _, attributes in statements(model) if stream is None else stream:
        if kind != "entity":
            break  # entities come first
        values = dict(attributes)
        location, version = values.get("prov:location"), values.get("autoprov:version")
        if identifier.startswith("run:obj_"):
            ids[("obj", int(identifier[8:]))] = identifier
        elif location is not None and version is not None:
            ids[("file", location, version)] = identifier
        elif location is not None and str(values.get("prov:type")) == "autoprov:Path":
            ids[("path", location)] = identifier
        elif location is not None:  # the script: a plan, named by its content
            ids.setdefault(("file", location, 0), identifier)
    return ids
