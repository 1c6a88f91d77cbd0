"""The run index: every run of a store queryable in SQLite (embedded) or PostgreSQL (shared).

Where a store and its index are is :mod:`autoprov.store.location` (imported at every run's start-up,
so it imports no database code).  ``schema`` (the ProvTAP tables), ``database`` (engine, locks, errors, schema
version), ``rows`` (a run's record as rows), ``writer`` (index and re-index), ``query`` (list
filters), ``diff``, ``lineage``, ``removal``, and ``api`` (:class:`~.api.Store`, the Python API that
the ``list``, ``diff``, ``lineage``, ``index``, ``rm`` and ``gc`` commands wrap).  See docs/index.md.
"""
