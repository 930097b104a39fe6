"""Email providers' bounce and complaint webhooks, each verified the way its provider documents,
their events handed to the listener's one place for suppressions (web/returns.py).

    POST /email/webhooks/postmark   Postmark's Bounce and SpamComplaint webhooks, with the
                                    HTTP basic auth given in the webhook's URL
                                    (SYNDICATE_POSTMARK_WEBHOOK=user:password)
    POST /email/webhooks/mailgun    Mailgun's failed and complained events, signed: an
                                    HMAC-SHA256 of timestamp and token with the webhook
                                    signing key (SYNDICATE_MAILGUN_SIGNING_KEY), the timestamp
                                    within 5 minutes, each token used once

A webhook not configured is a 404; a request that fails its check a 401 or 403 and changes
nothing; a body over 64 KB a 413; the database down a 503 with Retry-After (both providers
retry). A verified event names the address itself: the provider is trusted to say whom it
could not deliver to.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections import OrderedDict
from typing import Any

from aiohttp import web

from syndicate import untrusted
from syndicate.mail.addresses import AddressError, normalised
from syndicate.mail.replies import bad_address_status
from syndicate.mail.returns import COMPLAINT, HARD, IGNORED, SOFT, Report
from syndicate.people import bounces
from syndicate.people.database import DatabaseUnavailable
from syndicate.web.clock import Clock
from syndicate.web.limits import capped_body
from syndicate.web.returns import Returns

PREFIX = "/email/webhooks/"
MAX_BODY = 65_536
MAILGUN_WINDOW = 300  # seconds a signed Mailgun event stays acceptable
SEEN_TOKENS = 10_000  # Mailgun tokens remembered against replays
# Postmark's bounce types (its API's BounceType) as the list acts on them.
POSTMARK_TYPES = {
    "HardBounce": HARD, "BadEmailAddress": HARD, "ManuallyDeactivated": HARD,
    "SoftBounce": SOFT, "Transient": SOFT, "DnsError": SOFT, "Blocked": SOFT,
    "DMARCPolicy": SOFT, "SpamComplaint": COMPLAINT,
}  # fmt: skip


class WebhookError(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


class Webhooks:
    def __init__(
        self, returns: Returns, clock: Clock, postmark: str | None, mailgun_key: str | None
    ) -> None:
        self.returns, self.clock = returns, clock
        self.postmark = postmark
        self.mailgun_key = mailgun_key
        self.seen: OrderedDict[str, None] = OrderedDict()

    async def handle(self, request: web.BaseRequest) -> web.Response:
        provider = request.path.removeprefix(PREFIX)
        readers = {"postmark": (self.postmark, self._postmark),
                   "mailgun": (self.mailgun_key, self._mailgun)}  # fmt: skip
        secret, read = readers.get(provider, (None, None))
        if secret is None or read is None:
            return _answer(404, "No such webhook here (or it is not configured).")
        if request.method != "POST":
            return _answer(405, "Use POST here.", {"Allow": "POST"})
        data = await capped_body(request, MAX_BODY)
        if data is None:
            return _answer(413, f"The request is over {MAX_BODY} bytes.")
        try:
            address, report = read(request, data)
            subscriber = None
            if address is not None and report.kind != IGNORED:
                subscriber = await self.returns.db.run(bounces.subscriber_by_address, address)
            await self.returns.learn(subscriber, report, f"{provider} webhook")
        except WebhookError as error:
            return _answer(error.status, error.reason)
        except DatabaseUnavailable:
            return _answer(503, "Cannot keep it just now; try again.", {"Retry-After": "30"})
        return _answer(200, "ok")

    def _postmark(self, request: web.BaseRequest, data: bytes) -> tuple[str | None, Report]:
        assert self.postmark is not None
        given = request.headers.get("Authorization", "")
        expected = "Basic " + base64.b64encode(self.postmark.encode()).decode()
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise WebhookError(401, "The webhook's user and password do not match.")
        event = _json(data)
        kind = POSTMARK_TYPES.get(str(event.get("Type") or event.get("RecordType")), IGNORED)
        detail = f"postmark {str(event.get('Type') or event.get('RecordType'))[:30]}"
        return _address(event.get("Email")), Report(kind, detail)

    def _mailgun(self, request: web.BaseRequest, data: bytes) -> tuple[str | None, Report]:
        assert self.mailgun_key is not None
        body = _json(data)
        signature = body.get("signature")
        if not isinstance(signature, dict):
            raise WebhookError(403, "The event is not signed.")
        timestamp, token = str(signature.get("timestamp", "")), str(signature.get("token", ""))
        expected = hmac.new(
            self.mailgun_key.encode(), (timestamp + token).encode(), hashlib.sha256
        ).hexdigest()
        if not hmac.compare_digest(expected, str(signature.get("signature", ""))):
            raise WebhookError(403, "The event's signature does not match the signing key.")
        if not timestamp.isdigit() or abs(self.clock.now().timestamp() - int(timestamp)) > (
            MAILGUN_WINDOW
        ):
            raise WebhookError(403, "The event's timestamp is not within 5 minutes of now.")
        if token in self.seen:
            raise WebhookError(403, "This event's token was used already (a replay).")
        self.seen[token] = None
        while len(self.seen) > SEEN_TOKENS:
            self.seen.popitem(last=False)
        event = body.get("event-data")
        if not isinstance(event, dict):
            raise WebhookError(400, "The event has no event-data.")
        name, severity = str(event.get("event")), str(event.get("severity"))
        status = event.get("delivery-status")
        text = str(status.get("message") or "") if isinstance(status, dict) else ""
        code = str(status.get("enhanced-code") or "") if isinstance(status, dict) else ""
        if name == "complained":
            report = Report(COMPLAINT, "mailgun complained")
        elif name == "failed" and severity == "permanent":
            bad = (
                bad_address_status(code)
                or bad_address_status(text)
                or (event.get("reason") == "suppress-bounce")
            )
            report = Report(HARD if bad else SOFT, f"mailgun failed {code or 'permanent'}"[:40])
        else:
            report = Report(IGNORED, f"mailgun {name[:20]} {severity[:10]}")
        return _address(event.get("recipient")), report


def _json(data: bytes) -> dict[str, Any]:
    try:
        parsed = untrusted.loads(data)
    except ValueError:  # UnicodeDecodeError and nesting too
        raise WebhookError(400, "The body is not JSON.") from None
    if not isinstance(parsed, dict):
        raise WebhookError(400, "The body is not a JSON object.")
    return parsed


def _address(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return normalised(value)
    except AddressError:
        return None


def _answer(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    extra = {"Cache-Control": "no-store", **(headers or {})}
    if status == 401:
        extra["WWW-Authenticate"] = 'Basic realm="syndicate webhooks"'
    body = {"status": "ok" if status == 200 else "error", "message": message}
    return web.json_response(body, status=status, headers=extra)
