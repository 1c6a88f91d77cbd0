"""Other programs' provenance, joined to autoprov's: ctapipe's provenance logs read into the run index.

``ctapipe_log`` reads ctapipe's ``<tool>.provenance.log`` (several JSON arrays back to back);
``ctapipe_import`` turns each activity into an indexed run of its own, so ``lineage`` and every
other query of the index cover the runs that made the DL3 files.  This stage sits between the
exporter and the store: it writes through the index (``index/``) and is used by ``cli/``.
"""
