"""What the engines ask and what they get back: the compiled per-function recording rule.

The engines never read filter files.  They hand a code object (and the globals of the module it
runs in) to a :class:`Matcher` once, cache the answer, and from then on only look the code object
up in a dict.  A :class:`Rule` is the answer for a matched function: what to call the activity,
which arguments are parameters, which arguments and return values are entities, and whether
nested matched calls are recorded.  ``None`` means "not an activity", and the monitoring engine
then disables the code object for good.

The YAML filter language (``autoprov.filtering``) compiles into these objects.
"""

from __future__ import annotations

from types import CodeType
from typing import TYPE_CHECKING, Any
from ..records import NamedTuple


# NamedTuples, not frozen dataclasses: importing ``dataclasses`` (with ``inspect``) was the largest
# single item of autoprov's start-up (~10 ms), and creating a NamedTuple class costs less.
class EntitySpec(NamedTuple):
    """One entity an activity uses or generates.

    ``source`` names where the object is: an argument name, ``"return"``, ``"self"`` or a dotted
    path starting with one of those (``"self.datasets"``, ``"return.models"``).  ``kind`` is one of
    ``PythonObject``, ``File``, ``FileCollection`` or ``Collection``; for a ``File`` the object is
    a path (str / Path) that is linked to the file seen by the audit hook.  ``members`` is a dotted
    path evaluated on the object giving an iterable of members (``hadMember``).  ``index`` names
    the index file(s) of a ``FileCollection`` (e.g. ``obs-index.fits.gz`` of a DL3 data store).
    """

    role: str
    source: str
    kind: str = "PythonObject"
    entity_type: str | None = None
    members: str | None = None
    description: str | None = None
    multiplicity: str | None = None
    index: str | tuple[str, ...] | None = None


class Rule(NamedTuple):
    """How calls of one matched function are recorded (an IVOA ActivityDescription, compiled)."""

    name: str
    rule_id: str = "pattern"
    parameters: tuple[str, ...] | None = None  # None: every argument but self/cls
    self_parameters: tuple[str, ...] = ()  # dotted attribute paths on self recorded as parameters
    used: tuple[EntitySpec, ...] = ()
    generated: tuple[EntitySpec, ...] = ()
    nested: bool = True  # False: matched calls inside this activity are not recorded
    # Dotted paths read when the call returns ("return.total_stat", "self.fit_result", "datasets.models"):
    # results a referee asks about, such as fitted parameters, recorded as parameters of the activity.
    result_parameters: tuple[str, ...] = ()
    description: dict[str, Any] = {}  # noqa: RUF012 - shared empty default, never mutated
    # The filters' entity types (autoprov.filtering.states.ObjectStates): which classes are which
    # entity and what their state is; the same table for every rule of a run.
    states: Any = None
    # True: calls made from inside the package that defines the function (gammapy adding maps inside
    # a fit) are not activities, unless its generator takes the elements of an object the record holds
    # for the program (iterating recorded positions); calls from the program (or another library) are.
    program_calls: bool = False


# Protocols exist for the type checker only: creating one at run time costs ~0.15 ms of start-up (typing's metaclass)
if TYPE_CHECKING:
    from typing import Protocol

    class Matcher(Protocol):
        """Decides once per code object whether a function is an activity."""

        def decide(self, code: CodeType, module_globals: dict[str, Any]) -> Rule | None: ...

        def explain(self, code: CodeType, module_globals: dict[str, Any]) -> str: ...


def module_of(module_globals: dict[str, Any]) -> str:
    """The module name a code object runs in ('' when unknown)."""
    name = module_globals.get("__name__")
    return name if isinstance(name, str) else ""
