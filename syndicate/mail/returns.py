"""What comes back after a message was sent: a delivery status notification (RFC 3464), a
complaint (ARF, RFC 5965), an auto-reply, or a bounce in one of the many forms before DSNs,
sorted into what the list does about it.

    hard       a DSN whose recipient failed with an address status (5.1.x, 5.2.1; the rule of
               mail/replies.bad_address_status): suppress the address at once
    soft       a failure that may pass (a full mailbox, a policy or spam refusal by the
               remote, a DSN that gave up after retries with a 4.x.x status, a bounce only
               flufl.bounce's heuristics recognise): counted; suppressed past a limit
    complaint  an ARF report (someone pressed "spam"): suppress at once
    ignored    delays, successes, auto-replies, anything else

Standard reports are read with the standard library's MIME parser; the older forms with
flufl.bounce, the library Mailman uses for them. `references` finds whom a report is about
when it did not come to a return path of ours: a return path or a signed unsubscribe link
quoted in the enclosed original.
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from email.message import EmailMessage, Message

from flufl.bounce import all_failures

from syndicate.mail.replies import bad_address_status, enhanced

HARD, SOFT, COMPLAINT, IGNORED = "hard", "soft", "complaint", "ignored"
_UNSUBSCRIBE_TOKEN = re.compile(r"/email/unsubscribe\?token=([A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+)")


@dataclass(frozen=True)
class Report:
    kind: str  # HARD, SOFT, COMPLAINT or IGNORED
    detail: str  # "dsn 5.1.1", "arf abuse", "auto-reply": never an address


def parse(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.compat32)
    return message  # type: ignore[return-value]


def classify(message: Message) -> Report:
    """What `message`, sent to one of our return paths, says of the recipient."""
    report_type = str(message.get_param("report-type", "", header="content-type")).lower()
    if message.get_content_type() == "multipart/report" and report_type == "feedback-report":
        return Report(COMPLAINT, f"arf {_feedback_type(message)}")
    statuses = _delivery_statuses(message)
    if statuses:
        return _worst(statuses)
    if _is_auto_reply(message):
        return Report(IGNORED, "auto-reply")
    temporary, permanent = all_failures(message)
    if permanent:
        return Report(SOFT, "bounce (not a DSN; recognised by flufl.bounce)")
    if temporary:
        return Report(IGNORED, "delay warning (not a DSN)")
    return Report(IGNORED, "not a bounce")


def _feedback_type(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "message/feedback-report":
            blocks = part.get_payload()
            text = str(blocks[0]) if isinstance(blocks, list) and blocks else str(blocks)
            found = re.search(r"^Feedback-Type:\s*([\w-]+)", text, re.I | re.M)
            if found:
                return found[1].lower()[:30]
    return "abuse"


def _delivery_statuses(message: Message) -> list[tuple[str, str]]:
    """(action, status) of each recipient block of each message/delivery-status part."""
    found = []
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        blocks = part.get_payload()
        if not isinstance(blocks, list):
            continue
        for block in blocks:
            if not isinstance(block, Message):
                continue
            action = str(block.get("action", "")).strip().lower()
            status = str(block.get("status", "")).strip()
            if action or status:
                found.append((action, status))
    return found


def _worst(statuses: list[tuple[str, str]]) -> Report:
    failed = [status for action, status in statuses if action.startswith(("fail", "error"))]
    for status in failed:
        if bad_address_status(status):
            return Report(HARD, f"dsn {_status(status)}")
    if failed:
        return Report(SOFT, f"dsn {_status(failed[0])}")
    return Report(IGNORED, f"dsn {statuses[0][0] or 'without action'}"[:40])


def _status(status: str) -> str:
    code = enhanced(status)
    return ".".join(map(str, code)) if code else "without status"


def _is_auto_reply(message: Message) -> bool:
    """RFC 3834's Auto-Submitted, and the headers older responders use instead."""
    submitted = str(message.get("Auto-Submitted", "no")).strip().lower()
    precedence = str(message.get("Precedence", "")).strip().lower()
    return (
        submitted.startswith("auto-replied")
        or precedence in ("auto_reply", "auto-reply")
        or any(name in message for name in ("X-Autoreply", "X-Autorespond"))
    )


def references(message: Message) -> tuple[str, list[str]]:
    """The text of the report's enclosed original (where a return path or signed
    unsubscribe link of ours may be quoted), and the unsubscribe tokens in it."""
    texts = []
    for part in message.walk():
        kind = part.get_content_type()
        if kind in ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers"):
            texts.append(part.as_string())
    text = "\n".join(texts) or message.as_string()
    return text, _UNSUBSCRIBE_TOKEN.findall(text.replace("=\n", "").replace("=3D", "="))
