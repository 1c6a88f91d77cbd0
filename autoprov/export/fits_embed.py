"""Provenance inside the FITS products: header keywords in every HDU and a ``PROVENANCE`` table.

For every FITS file a run left behind (``--embed fits``, ``[tool.autoprov] embed = ["fits"]``, or
``autoprov embed RUN`` afterwards) this adds, without touching any existing HDU's data:

* in every HDU's header, short standard keywords pointing to the record (:data:`EMBED_KEYWORDS`):
  ``PROVRUN`` the run id, ``PROVACT`` the activity that wrote the file, ``PROVENT`` the file's PROV
  entity as the run wrote it, ``PROVDIG`` the digest of the embedded PROV-JSON document,
  ``PROVVER`` the autoprov version, ``PROVHDU`` the name of the table below;
* a binary table HDU ``PROVENANCE`` holding the product's chain: the activities and entities it
  was derived from, transitively (with digests and parameters), the enclosing calls up to the run,
  the run's agents, program and environment.  One row per PROV record (columns ``KIND``, ``ID``,
  ``SUBJECT``, ``OBJECT``, ``RECORD``); ``RECORD`` is the record's PROV-JSON in a variable-length
  character column (no padding), ASCII with spaces escaped as ``\\u0020`` (FITS readers strip
  blanks from strings).  :func:`from_fits` turns the
  table back into a PROV-JSON document that ``prov.read`` reads; ``PROVDIG`` is the xxh3-128 of
  that document's canonical JSON text, which ``autoprov export --from-fits FILE`` prints.

The embedded file is a new version of the product: the run's event log gets one ``autoprov.embed``
activity per file appended (through the log writer, append-only) that updates the file, so the
record holds the embedded version, derived from the version the script wrote (and from nothing
else), with its own digest, and ``autoprov verify`` finds the files as recorded.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, NamedTuple

from .. import events
from ..version import __version__
from ..log.writer import EventLog
from ..recorder.files import hash_file
from ..store.atomic import atomic_write
from .lookup import entity_ids
from .model import RunModel, load
from .products import outputs
from .renderers.provjson import write_statements
from .renderers.dot import short_name
from .statements import ENVIRONMENT, SESSION, Statement, namespaces, statements

EMBED_HDU = "PROVENANCE"
EMBED_KEYWORDS = ("PROVRUN", "PROVACT", "PROVENT", "PROVDIG", "PROVVER", "PROVHDU")
EMBED_ACTIVITY = "autoprov.embed"
EMBED_KINDS = ("fits",)
TEXT_WIDTHS = {"SUBJECT": 64, "OBJECT": 48}  # columns for people browsing the table: truncated
CONTEXT = frozenset({"agent", "wasAssociatedWith", "actedOnBehalfOf"})


class Embedded(NamedTuple):
    path: str
    done: bool
    how: str  # "embedded (N HDUs, M records)" or why not


def is_fits(path: str | Path) -> bool:
    """A FITS file, plain or gzip-compressed (by its first bytes, not its name)."""
    try:
        with open(path, "rb") as handle:
            start = handle.read(9)
        if start[:2] == b"\x1f\x8b":
            with gzip.open(path, "rb") as handle:
                start = handle.read(9)
    except (OSError, EOFError):
        return False
    return start == b"SIMPLE  ="


# -- the chain of one product ----------------------------------------------------------------


def chain(stream: list[Statement], product: str) -> list[Statement]:
    """The statements ``product`` (an entity id) derives from, with their context, in order.

    Followed back: who generated an entity, what that activity used and the calls made inside it
    (not for the run itself: that would be everything), what an entity was derived from (copies,
    in-place updates) and the members of a collection.  Kept as context without
    following their inputs: the enclosing calls of every activity up to the run, the run's agents
    and associations, the program (the plan), the environment and the ActivityDescriptions.
    """
    generated_by: dict[str, list[tuple[int, str]]] = defaultdict(list)
    used_by: dict[str, list[tuple[int, str]]] = defaultdict(list)
    derived: dict[str, list[tuple[int, str]]] = defaultdict(list)
    members: dict[str, list[tuple[int, str]]] = defaultdict(list)
    started: dict[str, tuple[int, str]] = {}
    nested: dict[str, list[tuple[int, str]]] = defaultdict(list)  # activity -> the calls made inside it
    records: dict[str, int] = {}
    keep: set[int] = set()
    for index, (kind, identifier, formal, attributes) in enumerate(stream):
        if identifier is not None:
            records[str(identifier)] = index
        if kind == "wasGeneratedBy":
            generated_by[formal["prov:entity"]].append((index, formal["prov:activity"]))
        elif kind == "used":
            used_by[formal["prov:activity"]].append((index, formal["prov:entity"]))
        elif kind == "wasDerivedFrom":
            derived[formal["prov:generatedEntity"]].append((index, formal["prov:usedEntity"]))
        elif kind == "hadMember":
            members[formal["prov:collection"]].append((index, formal["prov:entity"]))
        elif kind == "wasStartedBy":
            started[formal["prov:activity"]] = (index, formal["prov:starter"])
            if formal["prov:starter"] != SESSION:
                nested[formal["prov:starter"]].append((index, formal["prov:activity"]))
        if kind in CONTEXT:
            keep.add(index)
            keep.update(records[str(value)] for value in formal.values() if str(value) in records)
    followed: set[str] = set()
    pending = [product]
    while pending:
        identifier = pending.pop()
        if identifier in followed:
            continue
        followed.add(identifier)
        for links in (generated_by, used_by, derived, members, nested):
            for index, other in links.get(identifier, ()):
                keep.add(index)
                pending.append(other)
    context = set(followed)
    for identifier in followed:
        while identifier in started:  # the enclosing calls, up to the run
            index, identifier = started[identifier]
            keep.add(index)
            context.add(identifier)
    for identifier in list(context):  # each activity's ActivityDescription
        index = records.get(identifier)
        if index is not None:
            context.update(str(value) for name, value in stream[index][3] if name == "voprov:activityDescription")
    for index, (kind, _, formal, _) in enumerate(stream):
        if kind == "used" and formal["prov:entity"] == ENVIRONMENT:  # the run used its environment
            keep.add(index)
            context.add(ENVIRONMENT)
    keep.update(records[identifier] for identifier in context if identifier in records)
    return [stream[index] for index in sorted(keep)]


def canonical(document: dict[str, Any]) -> str:
    """The text ``PROVDIG`` is the digest of (and ``autoprov export --from-fits`` prints)."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def document_digest(document: dict[str, Any]) -> str:
    import xxhash

    return "xxh3_128:" + xxhash.xxh3_128(canonical(document).encode("utf-8")).hexdigest()


def prov_document(model: RunModel, stream: list[Statement]) -> dict[str, Any]:
    """Statements as a PROV-JSON document (a dict), written by the streaming writer."""
    out = io.StringIO()
    write_statements(out, namespaces(model), stream)
    return json.loads(out.getvalue())


# -- the table ---------------------------------------------------------------------------------


def _ascii(text: Any, width: int) -> str:
    return str(text).encode("ascii", "backslashreplace").decode("ascii")[:width]


def _ends(kind: str, record: Any) -> tuple[str, str]:
    """What the SUBJECT and OBJECT columns show for a record: for people browsing the table."""
    if kind == "prefix":
        return str(record), ""
    pairs = {
        "used": ("prov:activity", "prov:entity"), "wasGeneratedBy": ("prov:entity", "prov:activity"),
        "wasDerivedFrom": ("prov:generatedEntity", "prov:usedEntity"), "wasStartedBy": ("prov:activity", "prov:starter"),
        "hadMember": ("prov:collection", "prov:entity"), "wasAssociatedWith": ("prov:activity", "prov:agent"),
        "actedOnBehalfOf": ("prov:delegate", "prov:responsible"), "wasInvalidatedBy": ("prov:entity", "prov:activity"),
    }
    if kind in pairs:
        return str(record.get(pairs[kind][0], "")), str(record.get(pairs[kind][1], ""))

    def plain(value: Any) -> str:
        value = value[0] if isinstance(value, list) else value
        return str(value.get("$", "")) if isinstance(value, dict) else str(value)

    subject = plain(record.get("prov:location") or record.get("prov:label") or "")
    other = record.get("autoprov:digest") or record.get("autoprov:status") or record.get("prov:startTime") or ""
    return subject, plain(other)


def _record_text(record: Any) -> str:
    """Compact ASCII JSON without a space anywhere (spaces occur only in strings: escaped)."""
    return json.dumps(record, ensure_ascii=True, separators=(",", ":"), sort_keys=True).replace(" ", "\\u0020")


def table(document: dict[str, Any]) -> Any:
    """The ``PROVENANCE`` binary table HDU of a PROV-JSON document."""
    import numpy as np
    from astropy.io import fits

    rows: list[tuple[str, str, str, str, str]] = []
    for kind, group in document.items():
        for identifier, record in group.items():
            subject, target = _ends(kind, record)
            rows.append((kind, identifier, _ascii(subject, TEXT_WIDTHS["SUBJECT"]), _ascii(target, TEXT_WIDTHS["OBJECT"]), _record_text(record)))
    columns = []
    for position, name in enumerate(("KIND", "ID", "SUBJECT", "OBJECT")):
        values = [row[position] for row in rows]
        width = max([len(value) for value in values] + [1])
        columns.append(fits.Column(name=name, format=f"{width}A", array=np.array(values, dtype=f"S{width}")))
    records = np.empty(len(rows), dtype=object)
    records[:] = [row[4] for row in rows]
    columns.append(fits.Column(name="RECORD", format="PA()", array=records))  # variable length: no padding
    hdu = fits.BinTableHDU.from_columns(columns, name=EMBED_HDU)
    hdu.header["PROVFMT"] = ("PROV-JSON", "RECORD: PROV-JSON of each record")
    hdu.header["PROVSPC"] = ("\\u0020", "spaces in RECORD are JSON-escaped")
    return hdu


def from_fits(path: str | Path) -> dict[str, Any]:
    """The PROV-JSON document embedded in a FITS file (its last ``PROVENANCE`` HDU)."""
    from astropy.io import fits

    with fits.open(path, memmap=False) as hdus:
        tables = [hdu for hdu in hdus if hdu.name == EMBED_HDU]
        if not tables:
            raise ValueError(f"{path}: no {EMBED_HDU} HDU (embed provenance with `autoprov embed RUN`)")
        data = tables[-1].data
        document: dict[str, Any] = {}
        for kind, identifier, record in zip(data["KIND"], data["ID"], data["RECORD"]):
            text = "".join(record) if not isinstance(record, str) else record  # astropy: an array of characters
            document.setdefault(str(kind), {})[str(identifier)] = json.loads(text)
    return document


# -- embedding ---------------------------------------------------------------------------------


def _keywords(model: RunModel, activity: str, short: str, entity: str, digest: str) -> list[tuple[str, str, str]]:
    return [
        ("PROVRUN", model.run_id, "autoprov run of this file"),
        ("PROVACT", activity, short[:30]),
        ("PROVENT", entity, "this file as the run wrote it"),
        ("PROVDIG", digest, "of the PROV-JSON in PROVENANCE"),
        ("PROVVER", str(model.info.get("autoprov_version", __version__)), "autoprov version"),
        ("PROVHDU", EMBED_HDU, "HDU with the provenance chain"),
    ]


def _rewrite(path: str, cards: list[tuple[str, str, str]], provenance: Any) -> int:
    """Add ``cards`` to every HDU and append ``provenance``; data untouched; returns the HDU count."""
    import warnings

    from astropy.io import fits

    with open(path, "rb") as handle:
        compressed = handle.read(2) == b"\x1f\x8b"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fits.verify.VerifyWarning)  # comments trimmed to fit a card
        with fits.open(path, memmap=False, do_not_scale_image_data=True, disable_image_compression=True) as hdus:
            hdus.append(provenance)
            for hdu in hdus:
                had_checksum = "CHECKSUM" in hdu.header
                for keyword, value, comment in cards:
                    hdu.header[keyword] = (value, comment)
                if had_checksum:
                    hdu.add_checksum()  # the header changed: keep the checksum true
            buffer = io.BytesIO()
            hdus.writeto(buffer)
            count = len(hdus)
    content = buffer.getvalue()
    if compressed:
        content = gzip.compress(content, mtime=0)
    atomic_write(Path(path), content, mode=os.stat(path).st_mode & 0o7777)  # the file keeps its permissions
    return count


def embed_run(run_dir: Path | str) -> list[Embedded]:
    """Embed provenance into every FITS output of the run in ``run_dir``; record the new versions."""
    model = load(run_dir)
    stream = list(statements(model))
    ids = entity_ids(model, stream)
    algorithm = str(model.info.get("hash_algorithm") or "xxh3_128")
    products = [item for item in outputs(model) if is_fits(item.path)]
    results: list[Embedded] = []
    log: list[tuple] = []
    act = max(model.activities, default=0)
    for item in products:
        writers = [model.activities.get(a) for a in item.activities if a is not None]
        if any(writer is not None and writer.name == EMBED_ACTIVITY for writer in writers):
            results.append(Embedded(item.path, False, "already embedded"))
            continue
        if not item.digest or hash_file(item.path, algorithm)[0] != item.digest:
            results.append(Embedded(item.path, False, "skipped: changed since the run (or not hashed)"))
            continue
        entity = ids.get(item.key)
        if entity is None:
            results.append(Embedded(item.path, False, "skipped: not in the record"))
            continue
        started = time.time_ns()
        document = prov_document(model, chain(stream, entity))
        writer = writers[0] if writers else None
        activity = f"run:act_{writer.act}" if writer is not None else "run:session"
        cards = _keywords(model, activity, short_name(writer.name) if writer is not None else "the script", entity, document_digest(document))
        try:
            hdus = _rewrite(item.path, cards, table(document))
        except Exception as error:  # a file astropy cannot rewrite: leave it as it was
            results.append(Embedded(item.path, False, f"skipped: {type(error).__name__}: {error}"))
            continue
        digest, size, mtime = hash_file(item.path, algorithm)
        records = sum(len(group) for kind, group in document.items() if kind != "prefix")
        act += 1  # one activity per file: each embedded version derives from its own file only
        log += [(events.ACT, act, None, EMBED_ACTIVITY, "autoprov", started, "MainThread", {"format": "fits", "records": records}),
                (events.FILE, act, "update", item.path, time.time_ns(), item.version + 1),
                (events.DIGEST, item.path, item.version + 1, algorithm, digest, size, mtime),
                (events.END, act, time.time_ns(), "completed", None)]
        results.append(Embedded(item.path, True, f"embedded ({hdus} HDUs, {records} records)"))
    if log:
        appender = EventLog(Path(run_dir), log)
        appender.close()  # one batch, flushed and fsynced: the log stays append-only
    return results
