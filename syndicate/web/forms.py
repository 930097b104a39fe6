"""Reading what a client POSTs to the people's endpoints: a form (urlencoded, or
multipart/form-data as RFC 8058 3.2 recommends for one-click unsubscribe) or a JSON object,
capped in bytes and in fields; anything else is a `BadRequest` with a reason, never a 500."""

from __future__ import annotations

import email.policy
from email.parser import BytesParser
from urllib.parse import parse_qs

from aiohttp import web

from syndicate import untrusted
from syndicate.web.limits import capped_body

MAX_FIELDS = 20  # more than any form of ours has


class BadRequest(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


async def form_fields(request: web.BaseRequest, cap: int) -> dict[str, str]:
    """A POST's fields, form-encoded (urlencoded or multipart) or JSON; at most `cap`
    bytes and MAX_FIELDS fields, else BadRequest with the reason."""
    data = await capped_body(request, cap)
    if data is None:
        raise BadRequest(413, f"The request is over {cap} bytes.")
    kind = request.content_type
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest(400, "The request is not UTF-8.") from None
    if kind == "application/json":
        try:
            parsed = untrusted.loads(text) if text else {}
        except ValueError:
            raise BadRequest(400, "The request is not JSON.") from None
        if not isinstance(parsed, dict):
            raise BadRequest(
                400, "Send a JSON object with the fields email, topic, type, frequency."
            )
        return {k: v for k, v in parsed.items() if isinstance(k, str) and isinstance(v, str)}
    if kind in ("application/x-www-form-urlencoded", "", "application/octet-stream"):
        try:
            return {k: v[0] for k, v in parse_qs(text, max_num_fields=MAX_FIELDS).items()}
        except ValueError:
            raise BadRequest(400, f"The form has more than {MAX_FIELDS} fields.") from None
    if kind == "multipart/form-data":  # RFC 8058 3.2 recommends it for one-click
        return _multipart(request.headers.get("Content-Type", ""), data)
    raise BadRequest(415, "Send the form form-encoded, as multipart/form-data or as JSON.")


def _multipart(content_type: str, data: bytes) -> dict[str, str]:
    """The text fields of a multipart/form-data body (RFC 7578), read with the standard
    library's MIME parser; at most MAX_FIELDS."""
    message = BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1", "replace") + b"\r\n\r\n" + data
    )
    if not message.is_multipart() or message.get_boundary() is None:
        raise BadRequest(400, "The multipart form has no parts (or no boundary).")
    fields: dict[str, str] = {}
    for index, part in enumerate(message.iter_parts()):
        if index >= MAX_FIELDS:
            raise BadRequest(400, f"The form has more than {MAX_FIELDS} fields.")
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes) and name not in fields:
            try:
                fields[name] = payload.decode("utf-8")
            except UnicodeDecodeError:
                raise BadRequest(400, "The request is not UTF-8.") from None
    return fields
