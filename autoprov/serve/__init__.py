"""``autoprov serve``: the run index over HTTP, read-only: IVOA ProvSAP and a browser UI.

A front end beside :mod:`autoprov.cli`: it imports the index and the exporters, and nothing below
imports it.  ``access`` (read-only connections with a time bound), ``provsap`` (the protocol's
parameters and the graph an answer holds), ``documents`` (that graph as PROV-JSON, PROV-XML, SVG,
PNG), ``pages`` (the HTML UI), ``app`` (the Starlette application: routes, token, errors).
See docs/serve.md.
"""
