"""``autoprov serve``: ProvSAP and the pages over real indexes (SQLite and the suite's PostgreSQL).

The store holds real runs of the toy pipeline step (raw.txt -> a.txt -> b.txt -> c.txt, and a.txt ->
d.txt), each a ``python -m autoprov`` process.  Requests go through Starlette's TestClient (the
whole ASGI app, in process) and, for the command itself, through a real ``autoprov serve`` process
on a loopback port.  Answers are read back with ``prov``.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import prov
import pytest

from conftest import environment
from pgserver import ROLE_PASSWORD
from test_index import run_ids, step

pytest.importorskip("starlette", reason="the serve extra is installed in the main venv (Makefile EXTRAS), not the 3.11 one")
from starlette.testclient import TestClient  # noqa: E402

from autoprov.serve.access import Bounds, Index  # noqa: E402
from autoprov.serve.app import create_app  # noqa: E402


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> tuple[Path, list[str]]:
    cwd = tmp_path_factory.mktemp("serve")
    (cwd / "raw.txt").write_text("1\n")
    for source, target, scale in (("raw.txt", "a.txt", "2"), ("a.txt", "b.txt", "2"), ("b.txt", "c.txt", "2"), ("a.txt", "d.txt", "3")):
        done = step(cwd, source, target, "--scale", scale)  # d.txt's content differs from b.txt's
        assert done.returncode == 0, done.stderr
    return cwd, run_ids(cwd / ".prov")


def client(store_spec: str, token: str | None = None, bounds: Bounds | None = None) -> TestClient:
    return TestClient(create_app(Index(store_spec, bounds), token), raise_server_exceptions=False)


def document(response) -> prov.model.ProvDocument:
    assert response.status_code == 200, response.text
    return prov.read(io.StringIO(response.text), format="json")


def labels(doc: prov.model.ProvDocument, kind: type) -> set[str]:
    found = set()
    for record in doc.get_records(kind):
        label = record.get_attribute("prov:label")
        found.add(str(next(iter(label))) if label else str(record.identifier))
    return found


def check_back_and_forward(http: TestClient, cwd: Path, runs: list[str]) -> None:
    first, second, third, fourth = runs
    back = document(http.get("/provsap", params={"ID": str(cwd / "c.txt"), "DEPTH": "ALL"}))
    assert {"c.txt", "b.txt", "a.txt", "raw.txt"} == labels(back, prov.model.ProvEntity)
    activities = {str(a.identifier.namespace.uri) for a in back.get_records(prov.model.ProvActivity)}
    assert activities == {f"urn:autoprov:run:{run}#" for run in (first, second, third)}
    assert len(list(back.get_records(prov.model.ProvGeneration))) == 3 and len(list(back.get_records(prov.model.ProvUsage))) == 3
    forward = document(http.get("/provsap", params={"ID": str(cwd / "raw.txt"), "DEPTH": "ALL", "DIRECTION": "FORWARD"}))
    assert {"raw.txt", "a.txt", "b.txt", "c.txt", "d.txt"} == labels(forward, prov.model.ProvEntity)
    shallow = http.get("/provsap", params={"ID": str(cwd / "c.txt")})  # DEPTH=1: one step
    assert shallow.headers["X-ProvSAP-Bound"] == "depth: 1 steps"
    assert labels(document(shallow), prov.model.ProvEntity) == {"c.txt", "b.txt", "ProvSAP answer"}


def test_provsap_answers_back_and_forward_in_every_format(store) -> None:
    cwd, runs = store
    http = client(str(cwd / ".prov"))
    check_back_and_forward(http, cwd, runs)
    c_digest = json.loads(http.get("/provsap", params={"ID": str(cwd / "c.txt")}).text)
    file_id = next(key for key in c_digest["entity"] if key.startswith("file:") and c_digest["entity"][key]["prov:label"] == "c.txt")
    by_id = document(http.get("/provsap", params={"ID": file_id, "DEPTH": "ALL", "CONFIGURATION": "1", "AGENTS": "1", "DESCRIPTIONS": "2"}))
    parameters = {str(name) for a in by_id.get_records(prov.model.ProvActivity) for name, _ in a.attributes}
    assert "param:filename" in parameters and list(by_id.get_records(prov.model.ProvAgent))
    assert any(str(e.identifier).startswith("desc:") for e in by_id.get_records(prov.model.ProvEntity))
    w3c = json.loads(http.get("/provsap", params={"ID": file_id, "MODEL": "W3C", "DESCRIPTIONS": "1"}).text)
    assert "voprov" not in w3c["prefix"] and "voprov" in json.loads(http.get("/provsap", params={"ID": file_id}).text)["prefix"]
    xml = http.get("/provsap", params={"ID": file_id, "DEPTH": "ALL", "RESPONSEFORMAT": "PROV-XML"})
    assert xml.headers["content-type"].startswith("application/xml")
    assert labels(prov.read(io.StringIO(xml.text), format="xml"), prov.model.ProvEntity) == {"c.txt", "b.txt", "a.txt", "raw.txt"}
    svg = http.get("/provsap", params={"ID": file_id, "DEPTH": "ALL", "RESPONSEFORMAT": "PROV-SVG"})
    assert svg.headers["content-type"] == "image/svg+xml" and "<svg" in svg.text and "__main__.save" in svg.text
    png = http.get("/provsap", params={"ID": file_id, "RESPONSEFORMAT": "PROV-PNG", "DIRECTION": "FORWARD"})
    assert png.headers["content-type"] == "image/png" and png.content.startswith(b"\x89PNG")
    first = runs[0]
    run_back = document(http.get("/provsap", params={"ID": first}))  # a run: its inputs
    assert labels(run_back, prov.model.ProvEntity) == {"raw.txt"}
    run_forward = document(http.get("/provsap", params={"ID": f"urn:autoprov:run:{first}#session", "DIRECTION": "FORWARD", "DEPTH": "ALL"}))
    assert {"a.txt", "b.txt", "c.txt", "d.txt"} <= labels(run_forward, prov.model.ProvEntity)
    activity = document(http.get("/provsap", params={"ID": f"{runs[1]}#act_3", "DIRECTION": "FORWARD"}))  # save(): b.txt
    assert labels(activity, prov.model.ProvEntity) >= {"b.txt"}
    small = client(str(cwd / ".prov"), bounds=Bounds(nodes=3))
    cut = small.get("/provsap", params={"ID": str(cwd / "raw.txt"), "DEPTH": "ALL", "DIRECTION": "FORWARD"})
    assert cut.status_code == 200 and cut.headers["X-ProvSAP-Bound"] == "size: 3 nodes"
    late = client(str(cwd / ".prov"), bounds=Bounds(seconds=1e-9)).get("/provsap", params={"ID": str(cwd / "c.txt"), "DEPTH": "ALL"})
    assert late.status_code == 503 and "time bound of 1e-09 s" in late.text and "Traceback" not in late.text


@pytest.mark.parametrize(("params", "status", "reason"), [
    ({}, 400, "ID is required"),
    ({"ID": "x", "DEPTH": "-1"}, 400, "DEPTH='-1'"),
    ({"ID": "x", "DEPTH": "1000"}, 400, "above this service's bound of 200"),
    ({"ID": "x", "DIRECTION": "SIDEWAYS"}, 400, "DIRECTION='SIDEWAYS': give one of BACK, FORWARD"),
    ({"ID": "x", "RESPONSEFORMAT": "PROV-N"}, 400, "RESPONSEFORMAT='PROV-N'"),
    ({"ID": "x", "MODEL": "other"}, 400, "MODEL='other'"),
    ({"ID": "x", "DESCRIPTIONS": "3"}, 400, "DESCRIPTIONS='3'"),
    ({"ID": "x", "AGENTS": "yes"}, 400, "AGENTS='yes'"),
    ({"ID": "x", "COLOUR": "1"}, 400, "unknown parameter 'COLOUR'"),
    ({"ID": "nosuchrun"}, 404, "no run, activity or file content"),
    ({"ID": "xxh3_128:" + "0" * 32}, 404, "no run in the index used or generated this content"),
    ({"ID": "/no/such/file.fits"}, 404, "no run in the index read or wrote"),
    ({"ID": "urn:autoprov:run:nosuch#act_1"}, 404, "no run nosuch"),
    ({"ID": "RUN#obj_3"}, 400, "not obj entities"),
])
def test_bad_parameters_get_400_and_unknown_ids_404(store, params, status, reason) -> None:
    cwd, runs = store
    http = client(str(cwd / ".prov"))
    params = {key: value.replace("RUN", runs[0]) for key, value in params.items()}
    response = http.get("/provsap", params=params)
    assert (response.status_code, response.text.count("\n")) == (status, 1), response.text  # one line
    assert reason in response.text and "Traceback" not in response.text


def test_pages_link_runs_files_lineage_and_diffs(store) -> None:
    cwd, (first, second, third, fourth) = store
    http = client(str(cwd / ".prov"))
    home = http.get("/")
    assert home.status_code == 200 and all(f'href="/runs/{run}"' in home.text for run in (first, second, third, fourth))
    assert http.get("/", params={"used": str(cwd / "a.txt")}).text.count('href="/runs/') == 2  # the list filters
    assert http.get("/", params={"since": "soon"}).status_code == 400
    page = http.get(f"/runs/{second}")
    assert page.status_code == 200 and "/files?digest=xxh3_128" in page.text and f"/diff?" not in page.text
    file_link = page.text.split('href="/files?')[1].split('"')[0].replace("&amp;", "&")
    lineage = http.get("/files?" + file_link)
    assert lineage.status_code == 200 and "DIRECTION=BACK" in lineage.text and "DIRECTION=FORWARD" in lineage.text
    steps = http.get("/steps?" + file_link + "&direction=BACK")
    assert steps.status_code == 200 and "__main__.save" in steps.text and f'href="/runs/{first}"' in steps.text
    diff = http.get("/diff", params={"a": second, "b": fourth})
    assert diff.status_code == 200 and "d.txt" in diff.text and "b.txt" in diff.text
    assert http.get("/runs/nosuch").status_code == 404 and http.get("/nowhere").status_code == 404
    assert http.post("/provsap", params={"ID": first}).status_code == 405  # no write endpoint
    report = http.get(f"/runs/{first}/report")  # the run's own HTML report, served as written
    assert report.status_code == 200 and report.content == (cwd / ".prov" / first / "report.html").read_bytes()
    assert 'href="/runs/' + first + '/report"' in http.get(f"/runs/{first}").text
    headers = http.get("/").headers
    assert "default-src 'self'" in headers["content-security-policy"]


def test_a_token_guards_every_request(store) -> None:
    cwd, runs = store
    http = client(str(cwd / ".prov"), token="t0ken-123")
    refused = http.get("/provsap", params={"ID": runs[0]})
    assert refused.status_code == 401 and "needs its token" in refused.text and "t0ken-123" not in refused.text
    assert http.get("/provsap", params={"ID": runs[0]}, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert http.get("/provsap", params={"ID": runs[0]}, headers={"Authorization": "Bearer t0ken-123"}).status_code == 200
    browser = client(str(cwd / ".prov"), token="t0ken-123")
    first = browser.get("/", params={"token": "t0ken-123"}, follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/"
    assert browser.get("/").status_code == 200  # the cookie carries it from then on


def test_the_command_serves_on_loopback_and_refuses_an_open_bind_without_token(store) -> None:
    import httpx

    cwd, runs = store
    refused = subprocess.run([sys.executable, "-m", "autoprov", "serve", "--host", "0.0.0.0"], cwd=cwd, capture_output=True,
                             text=True, env=environment(), timeout=60)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1
    assert refused.stderr.startswith("autoprov: error: --host 0.0.0.0 is not a loopback address") and "[AP001]" in refused.stderr
    server = subprocess.Popen([sys.executable, "-m", "autoprov", "serve", "--port", "0"], cwd=cwd, stderr=subprocess.PIPE,
                              text=True, env=environment())
    try:
        banner = server.stderr.readline()  # printed once the socket is listening
        assert "(read-only; Ctrl-C stops)" in banner, banner
        url = banner.split(" on ")[1].split()[0]
        assert url.startswith("http://127.0.0.1:")
        answer = httpx.get(url + "provsap", params={"ID": str(cwd / "raw.txt"), "DIRECTION": "FORWARD", "DEPTH": "ALL"}, timeout=60)
        assert answer.status_code == 200 and "d.txt" in answer.text
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_the_same_answers_from_postgresql_and_no_password_shown(store, postgres_url) -> None:
    from autoprov.index.api import Store
    from autoprov.store.location import StoreLocation

    cwd, runs = store
    Store(StoreLocation(cwd / ".prov", postgres_url)).index()  # the same run folders, into the suite's PostgreSQL
    http = client(postgres_url)
    check_back_and_forward(http, cwd, runs)
    pages = [http.get("/"), http.get(f"/runs/{runs[0]}"), http.get("/runs/nosuch"), http.get("/provsap", params={"ID": "nosuch"})]
    assert "postgresql://autoprov:&lt;redacted&gt;@127.0.0.1" in pages[0].text
    assert all(ROLE_PASSWORD not in page.text for page in pages)
    with pytest.raises(Exception) as failure:
        Index(postgres_url.replace(ROLE_PASSWORD, "wrong-" + ROLE_PASSWORD))
    assert "wrong-" + ROLE_PASSWORD not in str(failure.value) and "[AP006]" in f"{failure.value} [{failure.value.code}]"


def test_concurrent_clients_get_the_50_run_lineage_without_error(tmp_path: Path) -> None:
    """The load benchmark (``make bench-serve``), bounded: 16 clients, 2 requests each, one real server."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from serve_load import load, make_store, serve

    from autoprov.index.api import Store

    identifier = make_store(tmp_path / ".prov", 0)
    Store(tmp_path / ".prov").index()
    process, url = serve(str(tmp_path / ".prov"), tmp_path)
    try:
        result = load(url, identifier, clients=16, requests=2, seconds=600)
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert (result["requests"], result["errors"]) == (32, 0), result["first_errors"]


def test_in_chromium_a_click_from_a_run_to_a_file_to_its_lineage(store, tmp_path: Path) -> None:
    """Debian's Chromium through Playwright: every page loads with no console error and no request
    leaving loopback; runs -> a run -> one of its files -> the lineage both ways, drawn."""
    import shutil
    from urllib.parse import urlsplit

    from browser import CHROMIUM, FLAGS
    from playwright.sync_api import sync_playwright

    assert shutil.which(CHROMIUM), f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)"
    cwd, (first, second, third, fourth) = store
    server = subprocess.Popen([sys.executable, "-m", "autoprov", "serve", "--port", "0"], cwd=cwd, stderr=subprocess.PIPE,
                              text=True, env=environment())
    problems: list[str] = []
    try:
        url = server.stderr.readline().split(" on ")[1].split()[0]
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(str(tmp_path / "profile"), executable_path=CHROMIUM,
                                                                    headless=True, args=FLAGS)
            try:
                page = context.new_page()
                page.on("console", lambda message: message.type == "error" and problems.append(f"console error: {message.text}"))
                page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
                page.on("request", lambda request: urlsplit(request.url).hostname != "127.0.0.1"
                        and problems.append(f"request off loopback: {request.url}"))
                page.goto(url)
                page.click(f'a[href="/runs/{second}"]')
                page.wait_for_url(f"**/runs/{second}")
                page.click("h2:has-text('Outputs') + table a")  # b.txt
                page.wait_for_url("**/files?**")
                assert "b.txt" in page.locator("h1").inner_text()
                page.wait_for_selector(".drawing > svg >> nth=1", timeout=60_000)  # both drawings fetched and shown
                back, forward = (page.locator(".drawing").nth(n).inner_text() for n in (0, 1))
                assert "__main__.save" in back and "raw.txt" in back and "c.txt" in forward
                page.click("text=steps as a list >> nth=0")
                page.click(f'a[href="/runs/{first}"]')
                page.wait_for_url(f"**/runs/{first}")
                page.click("text=HTML report")
                page.wait_for_load_state("load")
            finally:
                context.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert not problems, problems
