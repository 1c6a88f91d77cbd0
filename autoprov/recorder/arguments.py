"""Arguments and return values of matched calls: parameters (rendered) and entities (linked).

For each matched call the recorder hands the frame's arguments here.  Scalars and configuration
become parameters (rendered safely and boundedly, secrets redacted); the objects a rule names
become used / generated entities, tracked by identity and versioned by state in the
:class:`ObjectRegistry`; file names become FILEARG events that the exporter links to the files
the audit hook saw, resolved as gammapy's ``make_path`` and the OS resolve them (environment
variables, then symbolic links), so that a ``"$GAMMAPY_DATA/..."`` argument names the real file.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from functools import partial
from math import isfinite
from types import FrameType, ModuleType
from typing import Any

from .. import events
from ..filtering.plans import Plan
from ..filtering.rules import EntitySpec
from ..redaction import REDACTED, RULES, is_secret, learn_secret, redact_text
from .objects import ObjectRegistry
from .values import MAX_ITEMS, MAX_STRING, is_parameter_like, render

FAST_SCALARS = frozenset({int, bool, type(None)})  # JSON-ready as they are
# Results of these exact types are parameter-like (never a generated entity): leave() skips generated().
PLAIN_RESULTS = frozenset({int, bool, float, str, type(None)})
_UNBOUND = object()


def _is_collection(value: Any) -> bool:
    cls = type(value)
    return not isinstance(value, (str, bytes, dict)) and hasattr(cls, "__iter__") and hasattr(cls, "__len__")


def resolve(root: Any, path: str) -> Any:
    """Follow a dotted attribute path (``datasets.models``) without calling anything else.  A
    name a collection does not have is read from each of its members (up to 20): ``datasets.stat_type``
    on a list of datasets is the list of their statistics."""
    value = root
    parts = path.split(".")
    for index, part in enumerate(parts):
        if isinstance(value, dict):
            value = value[part]
            continue
        try:
            value = getattr(value, part)
        except AttributeError:
            if not _is_collection(value):
                raise
            rest = ".".join(parts[index:])
            return [resolve(member, rest) for member in itertools.islice(value, MAX_ITEMS)]
    return value


def file_path(value: str | os.PathLike) -> str:
    """A file argument as the program's libraries and the OS resolve it: environment variables
    expanded (gammapy's ``make_path``), ``~`` when no such relative folder exists, absolute, real."""
    text = os.path.expandvars(os.fsdecode(os.fspath(value)))
    if text.startswith("~") and not os.path.lexists(text.split(os.sep, 1)[0]):
        text = os.path.expanduser(text)
    return os.path.realpath(text)


def source_value(source: str, arguments: dict, self_object: Any, result: Any) -> Any:
    """The value a rule's dotted source names: an argument, ``self`` or ``return``, then attributes."""
    head, _, rest = source.partition(".")
    if head == "return":
        root = result
    elif head == "self":
        root = self_object
    else:
        root = arguments.get(head)
    try:
        return resolve(root, rest) if rest and root is not None else root
    except Exception:
        return None


def scalar_parameters(redact: Callable[[str], str], max_string: int, frame: FrameType, names: tuple[str, ...]) -> dict | None:
    """``{name: value}`` when every argument ``names`` lists is a plain scalar (int, bool, None,
    finite float, a str of at most ``max_string`` characters, passed through ``redact``), else None.

    The fast path of ``scalar_only`` plans, giving what :meth:`Arguments.read` gives for such
    arguments; None sends the call to read(), which decides from scratch.  The pure twin of
    ``autoprov._native.scalar_parameters``, which reads the values without building ``f_locals``
    (measured with three scalars: 0.55-0.7 us here, 0.15 us there).
    """
    arguments = frame.f_locals
    params = {}
    for name in names:
        value = arguments.get(name, _UNBOUND)
        kind = type(value)
        if kind in FAST_SCALARS:
            params[name] = value
        elif kind is float and isfinite(value):
            params[name] = value
        elif kind is str and len(value) <= max_string:
            params[name] = redact(value)
        else:
            return None
    return params


class Arguments:
    """Reads a matched call's arguments and results into parameters and entity links."""

    def __init__(self, emit: Callable[[tuple], None], objects: ObjectRegistry, native: ModuleType | None = None) -> None:
        self._append = emit
        self.objects = objects
        # scalars(frame, names): the core's scalar_parameters (the native one needs Python >= 3.12)
        native_scalars = getattr(native, "scalar_parameters", None)
        if native_scalars is not None:
            self.scalars = partial(native_scalars, redact_text, RULES, MAX_STRING)
        else:
            self.scalars = partial(scalar_parameters, redact_text, MAX_STRING)
        self.used_by: dict[int, set[int]] = {}  # running activity -> object ids it used (members too)

    def _adopt_states(self, rule: Any) -> None:
        """The filters' entity types, from the first rule that links an entity (every rule carries
        the same table): set before any object is described or fingerprinted."""
        if self.objects.states is None and rule.states is not None:
            self.objects.states = rule.states

    def read(self, plan: Plan, arguments: dict, params: dict, used: list) -> None:
        """Fill ``params`` (name -> rendered value) and ``used`` ((role or spec, value) pairs)."""
        rule = plan.rule
        self._adopt_states(rule)
        self_object = arguments.get(plan.argnames[0]) if plan.bound else None
        for path in rule.self_parameters:
            if is_secret(path):  # self.api_key, self.config.password
                params[path] = REDACTED
                try:
                    learn_secret(resolve(self_object, path))  # scrubbed from every later string
                except Exception:
                    pass
                continue
            try:
                params[path] = render(resolve(self_object, path))
            except Exception:
                params[path] = None
        for spec in rule.used:
            value = source_value(spec.source, arguments, self_object, None)
            if value is not None:
                used.append((spec, value))
        if plan.bound and not plan.self_used and self.objects.known(self_object):
            used.append(("self", self_object))
        for name in plan.names:
            if name not in arguments:
                continue
            if name in plan.secrets:
                params[name] = REDACTED
                learn_secret(arguments[name])  # scrubbed from every later string (its exception message...)
                continue
            value = arguments[name]
            kind = type(value)
            if kind in FAST_SCALARS:  # the common case, no rendering needed
                params[name] = value
            elif kind is float:
                params[name] = value if isfinite(value) else repr(value)
            elif kind is str or is_parameter_like(value):
                params[name] = redact_text(value) if kind is str and len(value) <= MAX_STRING else render(value)
                if name in plan.file_args and isinstance(value, (str, os.PathLike)):
                    used.append((EntitySpec(role=name, source=name, kind="File"), value))
                elif plan.untyped and kind is not str and self._holds_recorded(value):
                    used.append((name, value))  # a position or regions made from a recorded catalog
            elif plan.untyped:
                used.append((name, value))
            else:
                params[name] = render(value)

    def _holds_recorded(self, value: Any) -> bool:
        """True for a configuration-like value the record holds as an entity (a SkyCoord taken from
        recorded positions), or a list or tuple holding one (the regions of a mask)."""
        if self.objects.known(value):
            return True
        return type(value) in (list, tuple) and any(self.objects.known(item) for item in value[:MAX_ITEMS])

    def _link_object(self, kind: str, act: int, role: str, value: Any, now: int) -> int | None:
        """USE or GEN of an object entity, versioned by its state; returns its id (None when the
        activity used it and left it unchanged, so it generated nothing)."""
        if kind == events.USE:
            key = self.objects.use(value, self.used_by.setdefault(act, set()))
            self._append((kind, act, role, key, now))
            return key
        key, members = self.objects.generate(value, act, self.used_by.get(act, set()))
        for member in members:  # members first seen in, or changed by, this activity
            self._append((events.GEN, act, "member", member, now))
        if key is not None:
            self._append((kind, act, role, key, now))
        return key

    def link(self, kind: str, act: int, role: Any, value: Any, now: int, file_direction: str) -> None:
        """USE/GEN of an object entity, or FILEARG when the value names a file."""
        if not isinstance(role, EntitySpec):
            self._link_object(kind, act, role, value, now)
            return
        spec = role
        if spec.kind in ("File", "FileCollection") and isinstance(value, (str, os.PathLike)):
            path = file_path(value)
            self._append((events.FILEARG, act, spec.role, path, file_direction))
            for index in (spec.index,) if isinstance(spec.index, str) else spec.index or ():
                self._append((events.FILEARG, act, f"{spec.role}_index", os.path.join(path, index), file_direction))
            return
        key = self._link_object(kind, act, spec.role, value, now)
        if spec.members and key is not None:
            try:
                self.objects.add_members(key, resolve(value, spec.members))
            except Exception:
                pass  # a members path that does not apply to this object: the entity stays

    def results(self, plan: Plan, arguments: dict | None, result: Any) -> dict[str, Any]:
        """Values a rule reads when the call returns (fitted parameters, statistics), rendered."""
        arguments = arguments or {}
        self_object = arguments.get(plan.argnames[0]) if plan.bound else None
        values = {}
        for path in plan.rule.result_parameters:
            values[path] = REDACTED if is_secret(path) else render(source_value(path, arguments, self_object, result))
        return values

    def generated(self, plan: Plan, act: int, arguments: dict | None, result: Any, now: int) -> None:
        """GEN links for what a returning call produced (the rule's ``generated``, else its result)."""
        rule = plan.rule
        self._adopt_states(rule)
        if rule.generated:
            arguments = arguments or {}
            self_object = arguments.get(plan.argnames[0]) if plan.bound else None
            for spec in rule.generated:
                value = source_value(spec.source, arguments, self_object, result)
                if value is not None:
                    self.link(events.GEN, act, spec, value, now, "generated")
        elif result is not None and not is_parameter_like(result):
            self.link(events.GEN, act, "result", result, now, "generated")

    def finished(self, act: int) -> None:
        """Forget what a finished activity used."""
        self.used_by.pop(act, None)
