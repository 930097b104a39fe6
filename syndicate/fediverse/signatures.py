"""HTTP signatures, as the fediverse uses them: every POST to an inbox is signed, and every
inbound one is checked before anything is believed.

* Outbound, `sign`: draft-cavage-http-signatures-12 with rsa-sha256 over `(request-target)
  host date digest content-type` (and a SHA-256 `Digest` of the body): the form every server
  accepts (Mastodon, GoToSocial, Akkoma, Misskey, Pleroma, Lemmy, WordPress, Ghost). GETs
  (fetching a remote actor) are signed too, for servers that require it ("authorized fetch").
* Inbound, `verify`: the same cavage form, and RFC 9421 (`Signature-Input`), which Mastodon
  4.5 and Fedify send, checked with `http-message-signatures`. Either way the signature must
  cover the method and target, the host, a `Date` (or `created`) within `SKEW` of now, and
  for a body its digest, which must match the body.

The cavage form is written here: it is a few lines of string building around `cryptography`'s
RSA, and the libraries that carry it pull a JSON-LD stack in or are unmaintained. It is tested
against two independent implementations (tests/test_fediverse_interop.py).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit

import http_sf
from cryptography.exceptions import InvalidSignature as BadCryptography
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from http_message_signatures import HTTPMessageVerifier, algorithms
from http_message_signatures.exceptions import HTTPMessageSignaturesException
from http_message_signatures.resolvers import MappingKeyResolver
from multidict import CIMultiDict

from syndicate import untrusted

SKEW = timedelta(hours=12)  # how far a signature's date may be from now (Mastodon's window)
SIGNED_POST: tuple[str, ...] = ("(request-target)", "host", "date", "digest", "content-type")
SIGNED_GET: tuple[str, ...] = ("(request-target)", "host", "date", "accept")
_PARAM = re.compile(r'\s*([A-Za-z]+)\s*=\s*"([^"]*)"\s*(?:,|$)')


class SignatureError(ValueError):
    """Why a request's signature proves nothing (a 401 names it)."""


@dataclass(frozen=True)
class Received:
    """An inbound request as its signer addressed it."""

    method: str  # upper case
    url: str  # our public base URL + the path and query it was sent to
    headers: CIMultiDict[str]
    body: bytes

    @property
    def request_target(self) -> str:
        parts = urlsplit(self.url)
        return (
            f"{self.method.lower()} {parts.path or '/'}{f'?{parts.query}' if parts.query else ''}"
        )


def _target(method: str, url: str) -> str:
    """The cavage `(request-target)`: `post /ap/inbox?x=1`."""
    parts = urlsplit(url)
    query = f"?{parts.query}" if parts.query else ""
    return f"{method.lower()} {parts.path or '/'}{query}"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def body_digest(body: bytes) -> str:
    """The `Digest` header of `body` (RFC 3230, as the fediverse sends it)."""
    return f"SHA-256={_b64(hashlib.sha256(body).digest())}"


@functools.lru_cache(maxsize=4)
def private_key(pem: str) -> rsa.RSAPrivateKey:
    """The key of `pem`, loaded once: loading checks the key, which takes tens of ms."""
    key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the actors' key is not an RSA key")
    return key


def sign(
    method: str,
    url: str,
    key_id: str,
    private_pem: str,
    now: datetime,
    body: bytes | None = None,
    content_type: str = "application/activity+json",
    accept: str = "application/activity+json",
) -> dict[str, str]:
    """The headers that sign a `method` request to `url` with `body` (cavage, rsa-sha256):
    Host, Date, Signature, and for a body Digest and Content-Type (or Accept for a GET)."""
    parts = urlsplit(url)
    headers = {"host": parts.netloc, "date": format_datetime(now, usegmt=True)}
    if body is not None:
        headers["digest"] = body_digest(body)
        headers["content-type"] = content_type
        names = SIGNED_POST
    else:
        headers["accept"] = accept
        names = SIGNED_GET
    lines = [f"(request-target): {_target(method, url)}"] + [
        f"{name}: {headers[name]}" for name in names[1:]
    ]
    signature = private_key(private_pem).sign(
        "\n".join(lines).encode("utf-8"), padding.PKCS1v15(), hashes.SHA256()
    )
    headers["signature"] = (
        f'keyId="{key_id}",algorithm="rsa-sha256",headers="{" ".join(names)}",'
        f'signature="{_b64(signature)}"'
    )
    return {
        name.title() if name != "digest" else "Digest": value for name, value in headers.items()
    }


# Inbound ----------------------------------------------------------------------------------


def _cavage_params(value: str) -> dict[str, str]:
    params: dict[str, str] = {}
    position = 0
    while position < len(value):
        found = _PARAM.match(value, position)
        if found is None:
            raise SignatureError("the Signature header is malformed")
        params[found.group(1)] = found.group(2)
        position = found.end()
    if "keyId" not in params or "signature" not in params:
        raise SignatureError("the Signature header names no keyId or no signature")
    return params


def _rfc9421_params(received: Received) -> dict[str, Any]:
    try:
        inputs: Any = http_sf.parse(
            received.headers["Signature-Input"].encode("ascii"), tltype="dictionary"
        )
    except Exception:  # any fault of parsing: the header proves nothing
        raise SignatureError("the Signature-Input header is malformed") from None
    if len(inputs) != 1:
        raise SignatureError("one signature is expected, not several")
    (components, params), = inputs.values()  # fmt: skip
    if not isinstance(params.get("keyid"), str):
        raise SignatureError("the Signature-Input names no keyid")
    found = dict(params)
    found["covered"] = (
        {str(name) for name, _ in components} if isinstance(components, list) else set()
    )
    return found


def key_id(received: Received) -> str:
    """Which key signed `received` (the actor's key id, a URL); SignatureError if it is not
    signed, or not in a form we read."""
    if "Signature-Input" in received.headers:
        return str(_rfc9421_params(received)["keyid"])
    if "Signature" in received.headers:
        return _cavage_params(received.headers["Signature"])["keyId"]
    authorization = received.headers.get("Authorization", "")
    if authorization.startswith("Signature "):
        return _cavage_params(authorization.removeprefix("Signature "))["keyId"]
    raise SignatureError("the request is not signed (no Signature or Signature-Input header)")


@functools.lru_cache(maxsize=1024)
def _public(pem: str) -> rsa.RSAPublicKey | ed25519.Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise SignatureError("the signer's public key is not a PEM key") from None
    if not isinstance(key, rsa.RSAPublicKey | ed25519.Ed25519PublicKey):
        raise SignatureError("the signer's key is neither RSA nor Ed25519")
    return key


def _check_date(moment: datetime, now: datetime) -> None:
    if abs(now - moment) > SKEW:
        raise SignatureError(
            f"the request was signed at {moment:%Y-%m-%d %H:%M} UTC, more than 12 hours "
            "from now (a replay, or a clock far off)"
        )


def _check_digest(received: Received) -> None:
    given = received.headers.get("Digest", "")
    for part in given.split(","):
        name, _, value = part.strip().partition("=")
        if name.lower() == "sha-256":
            if value != _b64(hashlib.sha256(received.body).digest()):
                raise SignatureError("the Digest does not match the body")
            return
    raise SignatureError("the request has a body but no SHA-256 Digest of it")


def _verify_cavage(received: Received, public_pem: str, now: datetime) -> None:
    value = received.headers.get("Signature") or received.headers.get(
        "Authorization", ""
    ).removeprefix("Signature ")
    params = _cavage_params(value)
    if params.get("algorithm", "hs2019") not in ("rsa-sha256", "hs2019", "ed25519"):
        raise SignatureError(
            f"the signature algorithm {params['algorithm'][:30]!r} is not one we read"
        )
    names = params.get("headers", "date").lower().split()
    needed = {"(request-target)", "host"} | ({"digest"} if received.body else set())
    if not needed <= set(names) or not ({"date", "(created)"} & set(names)):
        missing = sorted(needed - set(names)) or ["date"]
        raise SignatureError(f"the signature does not cover {', '.join(missing)}")
    lines = []
    for name in names:
        if name == "(request-target)":
            lines.append(f"(request-target): {received.request_target}")
        elif name in ("(created)", "(expires)"):
            lines.append(f"{name}: {params.get(name.strip('()'), '')}")
        elif name in received.headers:
            lines.append(f"{name}: {', '.join(received.headers.getall(name))}")
        else:
            raise SignatureError(f"the signature covers {name}, which the request lacks")
    if "date" in names:
        try:
            signed_at = untrusted.http_date(received.headers["Date"])
        except ValueError:
            raise SignatureError("the Date header is not a date") from None
    else:
        try:
            signed_at = untrusted.timestamp(params.get("created", ""), now.tzinfo)
        except ValueError:
            raise SignatureError("the signature's created is not a Unix time") from None
    _check_date(signed_at, now)
    if received.body:
        _check_digest(received)
    key = _public(public_pem)
    try:
        signature = base64.b64decode(params["signature"], validate=True)
        data = "\n".join(lines).encode("utf-8")
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        else:
            key.verify(signature, data)
    except (BadCryptography, ValueError):
        raise SignatureError("the signature does not match the signer's key") from None


class _Verifier(HTTPMessageVerifier):
    # The library compares with the machine's clock; `_check_date` holds to ours (the tests'
    # clocks are fake), so the library's own window is as wide as ours.
    max_clock_skew = SKEW


def _verify_rfc9421(received: Received, public_pem: str, now: datetime) -> None:
    params = _rfc9421_params(received)
    key = _public(public_pem)
    created = params.get("created")
    if not isinstance(created, int):
        raise SignatureError("the signature has no created time")
    try:
        signed_at = untrusted.timestamp(created, now.tzinfo)
    except ValueError:
        raise SignatureError("the signature's created is not a Unix time") from None
    _check_date(signed_at, now)
    covered = params["covered"]
    if "@method" not in covered or not (
        "@target-uri" in covered or {"@authority", "@path"} <= covered
    ):
        raise SignatureError("the signature does not cover the method and the target URI")
    if received.body and "content-digest" not in covered:
        raise SignatureError("the signature does not cover the body's Content-Digest")
    algorithm: type[algorithms.HTTPSignatureAlgorithm] = (
        algorithms.ED25519 if isinstance(key, ed25519.Ed25519PublicKey)
        else algorithms.RSA_PSS_SHA512 if params.get("alg") == "rsa-pss-sha512"
        else algorithms.RSA_V1_5_SHA256
    )  # fmt: skip
    verifier = _Verifier(
        signature_algorithm=algorithm,
        key_resolver=MappingKeyResolver(public_keys={str(params["keyid"]): key}, private_keys={}),
    )
    try:
        verifier.verify(received, max_age=None, body=received.body or None)
    except (HTTPMessageSignaturesException, ValueError) as error:
        reason = str(error) or type(error).__name__
        raise SignatureError(f"the signature does not verify: {reason}"[:200]) from None


def verify(received: Received, public_pem: str, now: datetime) -> None:
    """Check `received`'s signature with the signer's `public_pem` (fetched by its key id);
    SignatureError says what is wrong."""
    if "Signature-Input" in received.headers:
        _verify_rfc9421(received, public_pem, now)
    else:
        _verify_cavage(received, public_pem, now)
