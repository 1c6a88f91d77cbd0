"""Which code is a property's getter: decided once per code object, when the planner first meets it.

A call of a getter reads an attribute (``dataset.models``): the record marks it and the views leave it
out by default (``autoprov/export/clutter.py``, docs/record.md).  A setter or deleter changes the
object and is not a read; nor is a method, even one a property also uses.  The planner is the
matcher stage as the engines consult it, with a real filter (``--match``) and real code objects.
"""

from __future__ import annotations

import functools

import pytest

from autoprov.filtering.build import build_matcher
from autoprov.filtering.plans import Planner


def logged(function):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        return function(*args, **kwargs)
    return wrapper


class SizedThing:  # a property in every form it is written in
    @property
    def size(self):
        return 1

    @size.setter
    def size(self, value):
        pass

    @size.deleter
    def size(self):
        pass

    @functools.cached_property
    def area(self):
        return 2

    @property
    @logged
    def wrapped(self):
        return 3

    def _count(self):
        return 4

    count = property(_count)  # not decorated: the getter has another name
    del _count

    def method(self):
        return 5

    alias = property(method)  # a method a property also uses: called directly too


class lazy(property):  # astropy's lazyproperty is a property subclass
    pass


class Lazy:
    @lazy
    def data(self):
        return 6


def module_function(self):
    return 7


class Opaque:  # a descriptor that raises when asked what it is (a decorator's own object)
    def __init__(self, function):
        self.function = function

    @property
    def __class__(self):
        raise RuntimeError("not today")


class Guarded:
    def run(self):
        return 8

    run_code = run.__code__
    run = Opaque(run)


GETTERS = {
    "getter": (SizedThing.size.fget.__code__, True),
    "setter": (SizedThing.size.fset.__code__, False),
    "deleter": (SizedThing.size.fdel.__code__, False),
    "cached_property": (SizedThing.area.func.__code__, True),
    "decorated getter": (SizedThing.wrapped.fget.__wrapped__.__code__, True),
    "undecorated getter": (SizedThing.count.fget.__code__, True),
    "property subclass": (Lazy.data.fget.__code__, True),
    "method": (SizedThing.method.__code__, False),
    "module function": (module_function.__code__, False),
    "descriptor that raises": (Guarded.run_code, False),  # no fault: its calls stay shown
}


@pytest.mark.parametrize("case", list(GETTERS))
def test_a_getter_is_planned_as_a_read(case: str) -> None:
    code, reads = GETTERS[case]
    planner = Planner(build_matcher(filters=[], match=[f"{__name__}:*"]), lambda event: None)
    plan = planner.plan(code, globals())
    assert plan is not None
    assert plan.rule.rule_id.endswith("#getter") is reads  # what its ACT events carry (autoprov.events)
