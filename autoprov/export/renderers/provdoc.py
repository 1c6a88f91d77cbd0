"""Statements -> a ``prov.model.ProvDocument``: the reference model, and the source of PROV-N,
PROV-XML and Turtle.

Building costs about 23 us and 1.7 KB per record, so :func:`document` is for runs up to
:data:`MODEL_LIMIT` statements; larger runs get PROV-JSON from :mod:`.provjson` only, unless the
user asks ``autoprov export`` for another format explicitly.
"""

from __future__ import annotations

from typing import Any

from ..model import RunModel
from ..names import QName, Time, utc
from ..statements import namespaces, statements

MODEL_LIMIT = 60_000


def document(model: RunModel) -> Any:
    """The run's record as a ``prov.model.ProvDocument``."""
    from prov.constants import PROV_RECORD_IDS_MAP
    from prov.model import ProvDocument

    doc = ProvDocument()
    for prefix, uri in namespaces(model).items():
        doc.add_namespace(prefix, uri)
    qname = doc.valid_qualified_name
    cache: dict[str, Any] = {}

    def value(item: Any) -> Any:
        if isinstance(item, QName):
            resolved = cache.get(item)
            if resolved is None:
                resolved = cache[item] = qname(item)
            return resolved
        return utc(item) if isinstance(item, Time) else item

    for kind, identifier, formal, attributes in statements(model):
        doc.new_record(
            PROV_RECORD_IDS_MAP[kind],
            identifier,
            {name: value(item) for name, item in formal.items()},
            [(name, value(item)) for name, item in attributes],
        )
    return doc
