"""A Python without the ``rdf`` extra, as after a plain ``pip install autoprov``: lxml and rdflib
are not found (``importlib.util.find_spec`` answers None for them, as it does when they are absent)."""

import importlib.util

_find_spec = importlib.util.find_spec


def _without_rdf_extra(name, package=None):
    if name.split(".")[0] in ("lxml", "rdflib"):
        return None
    return _find_spec(name, package)


importlib.util.find_spec = _without_rdf_extra
