"""``autoprov serve``: the store's index over HTTP (ProvSAP and a browser UI), read-only.

Loopback by default.  Binding any other address without ``--token`` is refused: the index names
every file, user, host and command line of a team's runs.  The token can also come from
``$AUTOPROV_SERVE_TOKEN``, which keeps it out of the command line (other users can read that with
``ps``).  Needs the ``serve`` extra (Starlette and uvicorn).
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys

from ..errors import UsageError
from .options import STORE_HELP, Parser

TOKEN_ENV = "AUTOPROV_SERVE_TOKEN"


def serve_command(argv: list[str]) -> int:
    parser = Parser(prog="autoprov serve", description="Serve the run index over HTTP: ProvSAP and a browser UI (read-only).")
    parser.add_argument("--store", default=None, metavar="DIR|URL", help=STORE_HELP)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, loopback only)")
    parser.add_argument("--port", type=int, default=8470, help="port (default 8470; 0 picks a free one)")
    parser.add_argument("--token", default=os.environ.get(TOKEN_ENV), help=f"required by every request (or ${TOKEN_ENV}); "
                        "needed when --host is not loopback")
    parser.add_argument("--max-depth", type=int, default=200, metavar="N", help="processing steps one query follows (default 200)")
    parser.add_argument("--max-nodes", type=int, default=5000, metavar="N", help="files and steps in one answer (default 5000)")
    parser.add_argument("--max-seconds", type=float, default=60.0, metavar="S", help="time one query may take (default 60)")
    options = parser.parse_args(argv)
    if min(options.max_depth, options.max_nodes, options.max_seconds) <= 0:
        raise UsageError("--max-depth, --max-nodes and --max-seconds must be above 0")
    if not loopback(options.host) and not options.token:
        raise UsageError(f"--host {options.host} is not a loopback address: anyone who can reach it could read the index; "
                         f"give --token (or ${TOKEN_ENV}), or bind 127.0.0.1")
    try:
        import uvicorn

        from ..serve.app import create_app
        from ..serve.access import Bounds, Index
    except ImportError as error:
        raise UsageError(f"autoprov serve needs {error.name}: pip install 'autoprov[serve]'") from None
    index = Index(options.store, Bounds(options.max_depth, options.max_nodes, options.max_seconds))
    listener = _bind(options.host, options.port)
    host, port = listener.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    print(f"autoprov serve: store {index.display()} on http://{shown}:{port}/ (read-only; Ctrl-C stops)", file=sys.stderr, flush=True)
    config = uvicorn.Config(create_app(index, options.token), log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[listener])
    index.dispose()
    return 0


def loopback(host: str) -> bool:
    """Whether every address ``host`` names is a loopback one (``localhost`` resolved)."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False
    return bool(addresses) and all(ipaddress.ip_address(address.split("%")[0]).is_loopback for address in addresses)


def _bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so that the address printed is the one in use (``--port 0``)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as error:
        listener.close()
        raise UsageError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    listener.listen(128)
    return listener
