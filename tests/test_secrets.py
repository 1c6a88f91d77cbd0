"""No secret in any file of a run folder; innocent values kept (autoprov/redaction.py, docs/secrets.md).

A corpus of credentials is handed to a program every way a real one gets them (command line,
parameters at any depth, exception messages, environment variables, known token formats); every
file the run writes, the background exporter's and the graph included, is searched for each secret.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from autoprov import redaction
from autoprov.store import run_dirs
from conftest import environment, wait_for_outputs

# Each secret is unique, so finding it anywhere proves a leak of that one way in.
SECRETS = {
    "argv_option": "S3cretArgvOpt1",
    "argv_equals": "S3cretArgvEq2",
    "argv_url": "S3cretArgvUrl3",
    "pwd": "S3cretPwd4",
    "pw": "S3cretPw5",
    "dsn": "S3cretDsn6",
    "url": "S3cretUrl7",
    "odbc": "S3cretOdbc8",
    "bearer": "S3cretBearerToken9",
    "nested_password": "S3cretNested10",
    "nested_token": "S3cretNestedTok11",
    "list_item": "S3cretListItem12",
    "exception": "S3cretException13",
    "exception_dict": "S3cretExcDict14",
    "env_url": "S3cretEnvUrl15",
    "env_query": "S3cretEnvQuery16",
    "camel": "S3cretCamel17",
    "glued": "S3cretGlued18",
    "github": "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8",
    "gitlab": "glpat-" + "x1Y2z3W4v5U6t7S8r9Q0",
    "aws": "AKIA" + "ABCDEFGHIJKLMNOP",
    "slack": "xoxb-" + "123456789012-abcdefABCDEF",
    "jwt": "eyJhbGciOiJIUzI1NiJ9." + "eyJzdWIiOiJhc3RybyJ9." + "c2lnbmF0dXJlMTIzNDU2",
    "self_attribute": "S3cretSelfAttr19",
    "result": "S3cretResult20",
}
INNOCENT = {
    "author": "Ann Author-Smith",
    "uncertainty": "0.125",
    "certainty": "certain-yes",
    "passband": "V-band",
    "tokenizer": "whitespace-tokenizer",
    "url": "https://example.org/data/crab.fits",
    "user": "astro-user",
}

PROGRAM = f'''
import sys

class Connection:
    def __init__(self):
        self.api_key = "{SECRETS['self_attribute']}"

    def open(self, dsn, url, conn, pwd=None, pw=None, headers=None, config=None, args=None, dbPassword=None,
             pgpassword=None, author=None, uncertainty=None, certainty=None, passband=None, tokenizer=None,
             where=None, user=None):
        return {{"session_token": "{SECRETS['result']}"}}

    def fail(self, message):
        raise ValueError(message)

c = Connection()
c.open("host=db user=astro password={SECRETS['dsn']} dbname=events",
       "postgresql://astro:{SECRETS['url']}@db.example.org/events",
       "Server=db;Uid=astro;Pwd={SECRETS['odbc']};",
       pwd="{SECRETS['pwd']}", pw="{SECRETS['pw']}",
       headers={{"Authorization": "Bearer {SECRETS['bearer']}"}},
       config={{"db": {{"password": "{SECRETS['nested_password']}", "auth": {{"token": "{SECRETS['nested_token']}"}}}}}},
       args=["--password", "{SECRETS['list_item']}", "{SECRETS['github']}", "{SECRETS['gitlab']}", "{SECRETS['aws']}",
             "{SECRETS['slack']}", "{SECRETS['jwt']}"],
       dbPassword="{SECRETS['camel']}", pgpassword="{SECRETS['glued']}",
       author="{INNOCENT['author']}", uncertainty={INNOCENT['uncertainty']}, certainty="{INNOCENT['certainty']}",
       passband="{INNOCENT['passband']}", tokenizer="{INNOCENT['tokenizer']}", where="{INNOCENT['url']}",
       user="{INNOCENT['user']}")
for message in ("connect to postgresql://astro:{SECRETS['exception']}@db failed",
                "bad config {{'password': '{SECRETS['exception_dict']}'}}"):
    try:
        c.fail(message)
    except ValueError:
        pass
print("done")
'''
FILTER = """
activities:
  - function: "__main__:Connection.open"
    parameters: [dsn, url, conn, pwd, pw, headers, config, args, dbPassword, pgpassword, author, uncertainty,
                 certainty, passband, tokenizer, where, user, self.api_key]
    results: [return]
  - function: "__main__:Connection.fail"
"""
ARGS = ["--password", SECRETS["argv_option"], f"--api-key={SECRETS['argv_equals']}",
        f"https://astro:{SECRETS['argv_url']}@archive.example.org/x"]
ENV = {
    "GAMMAPY_ARCHIVE": f"https://astro:{SECRETS['env_url']}@archive.example.org/dl3",
    "GAMMAPY_INDEX_URL": f"https://index.example.org/simple?token={SECRETS['env_query']}&v=1",
}


def run_folder_text(run: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in run.iterdir() if path.is_file()}


@pytest.fixture
def recorded(tmp_path: Path, engine: str) -> dict[str, bytes]:
    (tmp_path / "program.py").write_text(PROGRAM)
    (tmp_path / "connection.yaml").write_text(FILTER)
    store = tmp_path / "store"
    command = [sys.executable, "-m", "autoprov", "--engine", engine, "--store", str(store), "--filter", "connection.yaml",
               "--quiet", "--graph", "svg", "program.py", *ARGS]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, env=environment(ENV))
    assert done.returncode == 0 and done.stdout == "done\n", done.stderr
    (run,) = run_dirs(store)
    wait_for_outputs(run, ("provenance.provn", "provenance.xml", "provenance.ttl", "graph.svg", "report.html"))
    return run_folder_text(run)


def test_no_secret_reaches_any_file_of_the_run(recorded: dict[str, bytes]) -> None:
    assert {"events.jsonl", "environment.json", "provenance.json", "provenance.provn", "provenance.xml",
            "provenance.ttl", "graph.dot", "graph.svg", "report.html"} <= set(recorded)
    leaks = [(way, name) for way, secret in SECRETS.items() for name, content in recorded.items() if secret.encode() in content]
    assert not leaks


def test_innocent_values_survive(recorded: dict[str, bytes]) -> None:
    events = recorded["events.jsonl"].decode()
    for name, value in INNOCENT.items():
        assert value in events, name
    assert "<redacted>" in events and "postgresql://astro:<redacted>@db.example.org/events" in events
    environment_json = recorded["environment.json"].decode()
    assert "https://astro:<redacted>@archive.example.org/dl3" in environment_json


# -- the rule set, case by case ------------------------------------------------------------------

@pytest.mark.parametrize("name", [
    "password", "passwd", "pwd", "pw", "PGPASSWORD", "dbPassword", "db_pass", "api_key", "apiKey", "API-KEY",
    "AWS_SECRET_ACCESS_KEY", "private_key", "client_secret", "GITHUB_TOKEN", "token_file", "auth", "Authorization",
    "session_id", "cookie", "X-Amz-Signature", "sig", "passphrase", "credentials",
])
def test_secret_names(name: str) -> None:
    assert redaction.is_secret(name)


@pytest.mark.parametrize("name", [
    "author", "authors", "uncertainty", "certainty", "certificate_path", "passband", "tokenizer", "secretary",
    "key", "primary_key", "sort_key", "keys", "compass", "bypass_cache", "spwn", "user", "hdu", "passes",
])
def test_innocent_names(name: str) -> None:
    assert not redaction.is_secret(name)


@pytest.mark.parametrize("text, kept", [
    ("postgresql://astro:SECRET@db/x", "postgresql://astro:<redacted>@db/x"),
    ("redis://:SECRET@cache:6379/0", "redis://:<redacted>@cache:6379/0"),
    ("https://h.org/x?token=SECRET&n=1", "https://h.org/x?token=<redacted>&n=1"),
    ("host=db password=SECRET dbname=x", "host=db password=<redacted> dbname=x"),
    ("Server=s;Pwd={SE CRET};Database=d", "Server=s;Pwd=<redacted>;Database=d"),
    ("Authorization: Bearer SECRETSECRET", "Authorization: Bearer <redacted>"),
    ("{'api_key': 'SECRET', 'energy': 1}", "{'api_key': '<redacted>', 'energy': 1}"),
    ('{"token": "SECRET"}', '{"token": "<redacted>"}'),
    ("--client-secret=SECRET", "--client-secret=<redacted>"),
    ("url=mysql://u:SECRET@h/db", "url=mysql://u:<redacted>@h/db"),
    ("-----BEGIN RSA PRIVATE KEY-----\nSECRET\n-----END RSA PRIVATE KEY-----", "<redacted>"),
])
def test_credentials_in_values(text: str, kept: str) -> None:
    assert redaction.redact_text(text) == kept


@pytest.mark.parametrize("text", [
    "$GAMMAPY_DATA/hess-dl3-dr1/data/hess_dl3_dr1_obs_id_023523.fits.gz", "energy_range=[1, 10] TeV",
    "https://example.org/a:b", "ratio 3:2", "author: Ann", "2024-05-01T12:00:00", "key=value",
])
def test_innocent_values(text: str) -> None:
    assert redaction.redact_text(text) == text


def test_argument_lists_and_nested_values() -> None:
    assert redaction.redact_argv(["s.py", "--password", "X", "--token", "Y", "-v", "--api-key=Z", "in.fits"]) == [
        "s.py", "--password", "<redacted>", "--token", "<redacted>", "-v", "--api-key=<redacted>", "in.fits"]
    assert redaction.redact({"db": {"Password": "X", "host": "h"}, "list": ["--pw", "Y"]}) == {
        "db": {"Password": "<redacted>", "host": "h"}, "list": ["--pw", "<redacted>"]}


def test_rules_are_extensible(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(redaction.REDACT_ENV, "^observer$")
    monkeypatch.setenv(redaction.REDACT_VALUES_ENV, r"HESS-[0-9]{6}")
    redaction.reload_rules()
    try:
        assert redaction.is_secret("observer") and not redaction.is_secret("observers")
        assert redaction.redact_text("run HESS-123456 ok") == "run <redacted> ok"
    finally:
        monkeypatch.undo()
        redaction.reload_rules()
