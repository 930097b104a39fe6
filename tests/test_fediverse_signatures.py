"""HTTP signatures: ours as the draft-cavage spec builds them (the signing string written out
here), RFC 9421 ones made by `http-message-signatures`' signer accepted, and every way a
signature can fail to prove anything refused with its reason."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from http_message_signatures import HTTPMessageSigner, algorithms
from http_message_signatures.resolvers import MappingKeyResolver
from multidict import CIMultiDict

from syndicate.fediverse.signatures import Received, SignatureError, key_id, sign, verify
from tests.fediverse import rsa_pems

NOW = datetime(2026, 11, 30, 15, tzinfo=UTC)
INBOX = "https://feeds.example.org/ap/inbox"
KEY_ID = "https://mastodon.example/users/reader#main-key"
BODY = b'{"type": "Follow", "id": "https://mastodon.example/follows/1"}'


PRIVATE, PUBLIC = rsa_pems()
OTHER_PRIVATE, OTHER_PUBLIC = rsa_pems()


def rfc9421_signer() -> HTTPMessageSigner:
    """RFC 9421 signatures of our test key, by another library than ours."""
    return HTTPMessageSigner(
        signature_algorithm=algorithms.RSA_V1_5_SHA256,
        key_resolver=MappingKeyResolver(
            public_keys={},
            private_keys={KEY_ID: serialization.load_pem_private_key(PRIVATE.encode(), None)},
        ),
    )


def received(headers: dict[str, str], body: bytes = BODY, url: str = INBOX) -> Received:
    return Received("POST", url, CIMultiDict(headers), body)


def test_our_signature_is_the_cavage_signing_string_signed_with_rsa_sha256():
    headers = sign("POST", INBOX, KEY_ID, PRIVATE, NOW, BODY)
    assert headers["Host"] == "feeds.example.org"
    assert headers["Date"] == "Mon, 30 Nov 2026 15:00:00 GMT"
    assert (
        headers["Digest"] == "SHA-256=" + base64.b64encode(hashlib.sha256(BODY).digest()).decode()
    )
    params = dict(
        part.split("=", 1) for part in headers["Signature"].split(",")
    )  # no comma inside any value of ours
    params = {k: v.strip('"') for k, v in params.items()}
    assert params["keyId"] == KEY_ID and params["algorithm"] == "rsa-sha256"
    assert params["headers"] == "(request-target) host date digest content-type"
    signing_string = (
        "(request-target): post /ap/inbox\n"
        "host: feeds.example.org\n"
        "date: Mon, 30 Nov 2026 15:00:00 GMT\n"
        f"digest: {headers['Digest']}\n"
        "content-type: application/activity+json"
    )
    public = serialization.load_pem_public_key(PUBLIC.encode())
    public.verify(  # type: ignore[union-attr, call-arg]
        base64.b64decode(params["signature"]), signing_string.encode(),
        padding.PKCS1v15(), hashes.SHA256(),  # type: ignore[arg-type]
    )  # fmt: skip


def test_a_cavage_signature_of_ours_verifies_and_names_its_key():
    headers = sign("POST", INBOX, KEY_ID, PRIVATE, NOW, BODY)
    request = received(headers)
    assert key_id(request) == KEY_ID
    verify(request, PUBLIC, NOW + timedelta(minutes=5))


def test_an_rfc_9421_signature_made_by_another_library_verifies():
    signer = rfc9421_signer()
    request = received({"Content-Type": "application/activity+json"})
    signer.sign(
        request,
        key_id=KEY_ID,
        created=NOW,
        covered_component_ids=("@method", "@target-uri", "content-digest"),
        body=BODY,
    )
    assert "Signature-Input" in request.headers and key_id(request) == KEY_ID
    verify(request, PUBLIC, NOW)
    with pytest.raises(SignatureError, match="not verify"):
        verify(received(dict(request.headers), body=BODY + b" "), PUBLIC, NOW)


@pytest.mark.parametrize(
    ("spoil", "reason"),
    [
        (lambda h, b: ({}, b), "not signed"),
        (lambda h, b: (h, b + b"x"), "Digest does not match"),
        (lambda h, b: ({**h, "Signature": h["Signature"][:-6] + 'AAAA="'}, b), "does not match"),
        (lambda h, b: ({**h, "Signature": "keyId=nope"}, b), "malformed"),
        (lambda h, b: ({**h, "Signature": h["Signature"].replace(" digest", "")}, b),
         "does not cover digest"),
        (lambda h, b: ({k: v for k, v in h.items() if k != "Digest"}, b), "covers digest"),
        (lambda h, b: ({**h, "Date": format_datetime(NOW - timedelta(hours=13), usegmt=True)}, b),
         "more than 12 hours"),
        (lambda h, b: ({**h, "Signature": h["Signature"].replace("rsa-sha256", "hmac-sha256")}, b),
         "algorithm"),
    ],
    ids=["unsigned", "body changed", "forged", "malformed", "digest not covered",
         "digest missing", "replayed", "other algorithm"],
)  # fmt: skip
def test_a_signature_that_proves_nothing_is_refused_with_its_reason(spoil, reason):
    headers, body = spoil(sign("POST", INBOX, KEY_ID, PRIVATE, NOW, BODY), BODY)
    with pytest.raises(SignatureError, match=reason):
        request = received(headers, body)
        key_id(request)
        verify(request, PUBLIC, NOW)


def test_a_signature_by_another_key_than_the_actor_s_is_refused():
    headers = sign("POST", INBOX, KEY_ID, OTHER_PRIVATE, NOW, BODY)
    with pytest.raises(SignatureError, match="does not match the signer's key"):
        verify(received(headers), PUBLIC, NOW)


def test_a_signature_for_another_inbox_is_refused():
    headers = sign(
        "POST", "https://feeds.example.org/ap/actors/x/inbox", KEY_ID, PRIVATE, NOW, BODY
    )
    with pytest.raises(SignatureError, match="does not match"):
        verify(received(headers), PUBLIC, NOW)


def test_a_signed_get_covers_its_target_host_date_and_accept():
    headers = sign("GET", "https://mastodon.example/users/reader", KEY_ID, PRIVATE, NOW)
    assert 'headers="(request-target) host date accept"' in headers["Signature"]
    request = Received("GET", "https://mastodon.example/users/reader", CIMultiDict(headers), b"")
    verify(request, PUBLIC, NOW)


@pytest.mark.parametrize(
    ("covered", "created", "reason"),
    [
        (("content-digest",), NOW, "method and the target"),
        (("@method", "@target-uri", "content-digest"), NOW - timedelta(hours=13), "12 hours"),
        (("@method", "@target-uri"), NOW, "does not cover the body's Content-Digest"),
    ],
    ids=["target not covered", "replayed", "body not covered"],
)
def test_an_rfc_9421_signature_that_proves_too_little_is_refused(covered, created, reason):
    signer = rfc9421_signer()
    request = received({"Content-Type": "application/activity+json"})
    body = BODY if "content-digest" in covered else None  # the signer adds the digest of a body
    signer.sign(request, key_id=KEY_ID, created=created, covered_component_ids=covered, body=body)
    assert ("content-digest" in request.headers) == (body is not None)
    with pytest.raises(SignatureError, match=reason):
        verify(request, PUBLIC, NOW)


def cavage(headers: dict[str, str], covered: list[str], extra: str = "") -> dict[str, str]:
    """`headers` with a draft-cavage Signature over `covered`, made here with our test key
    (so that a Date or `created` can be given in any form a sender might use)."""
    key = serialization.load_pem_private_key(PRIVATE.encode(), None)
    lines = [
        "(request-target): post /ap/inbox" if name == "(request-target)"
        else f"(created): {extra}" if name == "(created)"
        else f"{name}: {headers[name.title()]}"
        for name in covered
    ]  # fmt: skip
    signed = key.sign("\n".join(lines).encode(), padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr, call-arg]
    created = f',created="{extra}"' if extra else ""
    value = (f'keyId="{KEY_ID}",algorithm="hs2019",headers="{" ".join(covered)}"{created},'
             f'signature="{base64.b64encode(signed).decode()}"')  # fmt: skip
    return {**headers, "Signature": value}


DIGEST = "SHA-256=" + base64.b64encode(hashlib.sha256(BODY).digest()).decode()


def test_a_date_in_zone_minus_0000_is_read_as_utc():
    """RFC 5322 3.3: -0000 is UTC whose sender does not say its own offset; Python reads it
    as a naive time (which compared with an aware one raised TypeError: a 500)."""
    headers = {"Host": "feeds.example.org", "Date": "Mon, 30 Nov 2026 15:00:00 -0000",
               "Digest": DIGEST}  # fmt: skip
    signed = cavage(headers, ["(request-target)", "host", "date", "digest"])
    verify(received(signed), PUBLIC, NOW + timedelta(minutes=5))
    with pytest.raises(SignatureError, match="12 hours"):
        verify(received(signed), PUBLIC, NOW + timedelta(hours=13))


@pytest.mark.parametrize("created", ["9" * 400, "99999999999999999999", "-99999999999999", "soon",
                                     "1.5e9"])  # fmt: skip
def test_a_created_time_that_is_huge_or_not_a_number_is_refused_with_its_reason(created):
    headers = {"Host": "feeds.example.org", "Digest": DIGEST}
    signed = cavage(headers, ["(request-target)", "host", "(created)", "digest"], created)
    with pytest.raises(SignatureError, match="created"):
        verify(received(signed), PUBLIC, NOW)


def test_an_rfc_9421_created_time_out_of_range_is_refused_with_its_reason():
    request = received({
        "Content-Type": "application/activity+json", "Content-Digest": "sha-256=:AAAA:",
        "Signature-Input": f'sig1=("@method" "@target-uri" "content-digest");created=999999999999999;keyid="{KEY_ID}"',
        "Signature": "sig1=:AAAA:",
    })  # fmt: skip
    with pytest.raises(SignatureError):
        verify(request, PUBLIC, NOW)
