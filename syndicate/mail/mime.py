"""Messages as bytes, fast: a template per set of items, each subscriber's message assembled
from it by substitution. A new item to ten thousand subscribers encodes its bodies once.

The email package's classes encode and fold every header and body of every message (about a
millisecond and a half each, most of a send's cost); here a `Template` holds the encoded
bodies (quoted-printable UTF-8) split where each subscriber's own links go, and `assemble`
joins them with that subscriber's links (encoded on their own, joined by soft line breaks,
RFC 2045 6.7) and headers. The result is an RFC 5322 multipart/alternative message that the
email package parses like any other (the tests read every message with it).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from email import quoprimime
from email.header import Header

BOUNDARY_PREFIX = "=_syndicate_"


LINE = 78  # RFC 5322 2.1.1: lines SHOULD be no longer (and MUST be under 998)


def header_value(value: str) -> str:
    """Text for a header: RFC 2047 encoded-words when it is not ASCII, or when it holds
    something a mail client would decode as one ("=?"). A line break is refused: header
    values come from editors' text and a break would let it write headers of its own."""
    if "\r" in value or "\n" in value:
        raise ValueError("a header value cannot hold a line break")
    if value.isascii() and "=?" not in value:
        return value
    # Encoded-words of at most 64 characters: one fits a line after any header name we use.
    return Header(value, "utf-8", maxlinelen=64).encode(linesep="\n").replace("\n ", " ")


def header_line(name: str, value: str) -> str:
    """`name: value` folded at spaces into lines of at most 78 characters where the words
    allow (a longer word keeps its line; none is near 998). `value` is ASCII already."""
    if not value.isascii() or "\r" in value or "\n" in value:
        raise ValueError(f"{name}: header values are one line of ASCII (see header_value)")
    lines, line = [], f"{name}:"
    for index, word in enumerate(value.split(" ")):
        if index and len(line) + 1 + len(word) > LINE:
            lines.append(line)
            line = ""
        line += " " + word
    return "\n".join([*lines, line])


def _qp(text: str) -> str:
    return quoprimime.body_encode(text.encode("utf-8").decode("latin-1"), maxlinelen=76)


@dataclass(frozen=True)
class Part:
    kind: str  # text/plain or text/html
    segments: tuple[str, ...]  # encoded, the slots between them left out
    slots: tuple[str, ...]  # which slot goes after each segment but the last


@dataclass(frozen=True)
class Template:
    head: str  # the headers every recipient gets alike, lines joined by \n
    boundary: str
    parts: tuple[Part, Part]  # the text, then the HTML


def template(
    headers: dict[str, str], text: str, html: str, slots: tuple[str, ...] = ()
) -> Template:
    """Encode `text` and `html` once; each of `slots` (a stand-in string in the bodies,
    letters and digits) is left out, to be filled per recipient by `assemble`."""
    pattern = re.compile("|".join(map(re.escape, slots))) if slots else None
    parts = []
    for kind, body in (("text/plain", text), ("text/html", html)):
        segments = pattern.split(body) if pattern else [body]
        found = pattern.findall(body) if pattern else []
        parts.append(Part(kind, tuple(_qp(segment) for segment in segments), tuple(found)))
    head = "\n".join(header_line(name, value) for name, value in headers.items())
    return Template(head, BOUNDARY_PREFIX + secrets.token_hex(8), (parts[0], parts[1]))


def assemble(
    template: Template, headers: dict[str, str], text: dict[str, str], html: dict[str, str]
) -> bytes:
    """One recipient's message: `headers` (To, Date, Message-ID...) after the template's,
    each slot filled from `text` in the text part and from `html` (escaped already) in the
    HTML part."""
    own = [header_line(name, value) for name, value in headers.items()]
    kind = f'multipart/alternative; boundary="{template.boundary}"'
    lines = [template.head, *own, "MIME-Version: 1.0", f"Content-Type: {kind}", ""]
    done: dict[str, str] = {}
    for part, values in zip(template.parts, (text, html), strict=True):
        lines += [f"--{template.boundary}", f'Content-Type: {part.kind}; charset="utf-8"',
                  "Content-Transfer-Encoding: quoted-printable", ""]  # fmt: skip
        body = part.segments[0]
        for slot, segment in zip(part.slots, part.segments[1:], strict=True):
            value = values[slot]
            encoded = done.get(value)
            if encoded is None:  # a link is often the same in both parts (nothing to escape)
                encoded = done[value] = _qp(value)
            body += "=\n" + encoded + "=\n" + segment
        lines.append(body)
    lines += [f"--{template.boundary}--", ""]
    return "\n".join(lines).encode("ascii")
