"""Hostile requests: whatever a client sends to an endpoint that takes a POST, the answer is
never a 5xx and the log never holds a traceback.

A real `syndicate serve` with every wing that writes turned on (email sign-up and its
links, the bounce webhooks, the fediverse inboxes, the stats sign-in), and generated
requests: bodies (bytes, deeply nested JSON, JSON objects shaped like activities and
webhook events with hostile values, forms), header fields (Content-Type, Date with `-0000`
and nonsense, Signature with huge or malformed `created`, Digest, Authorization, Origin)
and a fresh client address each (X-Forwarded-For from loopback, which the service trusts),
so that the per-client limits do not hide the paths behind them. Every key id names a
loopback address the service refuses to fetch: nothing leaves the machine. `make test` runs
200 requests; `make test-slow` more.
"""

from __future__ import annotations

import http.client
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import CONTENT
from tests.live import LiveServer, free_port, live_server
from tests.test_hostile import NASTY

EXAMPLES = int(os.environ.get("SYNDICATE_HYPOTHESIS_EXAMPLES", "200"))
PATHS = [
    "/email/subscribe", "/email/confirm", "/email/unsubscribe", "/email/manage",
    "/email/webhooks/postmark", "/email/webhooks/mailgun", "/ap/inbox",
    "/ap/actors/harm-reduction/inbox", "/ap/actors/everything/inbox", "/stats/sign-in",
    "/stats/sign-out",
]  # fmt: skip
CLOSED = free_port()  # nothing listens here: a relay and key ids that cannot be reached


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("hostile-requests")
    with live_server(
        CONTENT, folder / "log", SYNDICATE_STATE_DIR=str(folder / "state"),
        SYNDICATE_SMTP_URL=f"smtp://127.0.0.1:{CLOSED}", SYNDICATE_MAIL_FROM="updates@example.org",
        SYNDICATE_FEDIVERSE="true", SYNDICATE_ADMIN_PASSWORD="the operators' password",
        SYNDICATE_POSTMARK_WEBHOOK="postmark:a-webhook-password",
        SYNDICATE_MAILGUN_SIGNING_KEY="a-mailgun-signing-key",
    ) as live:  # fmt: skip
        yield live


texts = st.one_of(st.sampled_from(NASTY), st.text(max_size=40),
                  st.integers(0, 3000).map(lambda n: "x" * n))  # fmt: skip
leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), texts)
json_values = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.one_of(
                texts,
                st.sampled_from(
                    [
                        "id",
                        "type",
                        "actor",
                        "object",
                        "email",
                        "topic",
                        "RecordType",
                        "signature",
                        "event-data",
                        "token",
                        "password",
                    ]
                ),
            ),
            inner,
            max_size=5,
        ),
    ),
    max_leaves=12,
)
activities = st.fixed_dictionaries(
    {"id": texts, "actor": st.one_of(texts, st.just(f"http://127.0.0.1:{CLOSED}/actor"),
                                     st.integers(501, 5000).map(lambda n: "https://a.example/" + "a" * n)),
     "type": st.sampled_from(["Follow", "Undo", "Delete", "Create", "Accept", "x"])},
    optional={"object": json_values, "@context": json_values},
)  # fmt: skip
nested = st.builds(lambda opener, n: opener * n, st.sampled_from(["[", '{"a":']),
                   st.integers(100, 50_000))  # fmt: skip
forms = st.dictionaries(st.sampled_from(["email", "topic", "type", "frequency", "token", "password",
                                         "action"]), texts, max_size=6).map(
    lambda fields: "&".join(f"{k}={v}" for k, v in fields.items()))  # fmt: skip
bodies = st.one_of(
    st.binary(max_size=2000),
    nested.map(str.encode),
    json_values.map(lambda v: json.dumps(v).encode()),
    activities.map(lambda v: json.dumps(v).encode()),
    forms.map(lambda f: f.encode("utf-8", "surrogatepass")),
)
created = st.one_of(st.integers(-(10**30), 10**30).map(str), texts, st.just("9" * 400))
signature = st.builds(
    lambda key, headers, made, value: (f'keyId="{key}",algorithm="hs2019",headers="{headers}",'
                                       f'created={made},signature="{value}"'),
    st.sampled_from([f"http://127.0.0.1:{CLOSED}/actor#main-key", "", "urn:x", "\u202e"]),
    st.sampled_from(["(request-target) host date digest", "(request-target) host (created)",
                     "date", ""]),
    created, st.one_of(texts, st.just("AAAA")),
)  # fmt: skip
header_values = {
    "Content-Type": st.sampled_from([
        "application/json", "application/activity+json",
        'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
        "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
        "multipart/form-data", "text/plain", "a/b; c=\u00e9"]),
    "Date": st.sampled_from(["Tue, 08 Dec 2026 01:00:00 -0000", "Tue, 08 Dec 2026 01:00:00 GMT",
                             "yesterday", "Tue, 08 Dec 99999 01:00:00 GMT", ""]),
    "Signature": signature,
    "Digest": st.sampled_from(["SHA-256=", "SHA-256=AAAA", "md5=x", "SHA-256=" + "A" * 5000]),
    "Authorization": st.sampled_from(["Basic cG9zdG1hcms6YS13ZWJob29rLXBhc3N3b3Jk", "Basic !!",
                                      "Basic " + "A" * 3000, "Signature x"]),
    "Origin": st.sampled_from(["null", "https://evil.example", "http://127.0.0.1"]),
    "Sec-Fetch-Site": st.sampled_from(["same-origin", "cross-site", "same-site", "none"]),
    "Accept": st.sampled_from(["application/json", "text/html", "*/*"]),
}  # fmt: skip
headers = st.fixed_dictionaries({}, optional=header_values).map(
    lambda h: {k: _field(v) for k, v in h.items()}
)


def _field(value: str) -> str:
    """`value` as a header field can carry it: its UTF-8 bytes, no line breaks or NUL (the
    client refuses those: a server never sees them)."""
    raw = value.encode("utf-8", "replace").decode("latin-1")
    return re.sub(r"[\r\n\x00]", "?", raw).strip() or "x"


clients = st.tuples(*[st.integers(1, 254)] * 4).map(lambda t: ".".join(map(str, t)))


def post(url: str, path: str, body: bytes, fields: dict[str, str]) -> int:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=20)
    try:
        conn.putrequest("POST", path, skip_accept_encoding=True)
        for name, value in fields.items():
            conn.putheader(name, value)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(path=st.sampled_from(PATHS), body=bodies, fields=headers, client=clients)
def test_no_request_to_an_endpoint_that_writes_gets_a_5xx(
    server: LiveServer, path: str, body: bytes, fields: dict[str, str], client: str
):
    status = post(server.url, path, body, {**fields, "X-Forwarded-For": client})
    assert status < 500, (path, status)


def test_and_the_log_holds_no_traceback_and_no_error(server: LiveServer):
    """Run after the requests above (same module, same server)."""
    lines = Path(server.log).read_text().splitlines()
    assert not [line for line in lines if "Traceback" in line], "\n".join(lines[-60:])
    errors = [line for line in lines if " ERROR " in line and "relay" not in line]
    assert not errors, "\n".join(errors[:20])
