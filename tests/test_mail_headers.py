"""Headers of every email as mail clients read them: folded into short lines, decoded back to
exactly the editor's text, never a way to write a header of one's own."""

from __future__ import annotations

import email
import email.policy

import pytest

from syndicate.mail.mime import assemble, header_line, header_value, template


def parsed(subject: str) -> tuple[email.message.EmailMessage, bytes]:
    shared = template({"From": "updates@example.org", "Subject": header_value(subject)}, "t", "h")
    data = assemble(shared, {"To": "reader@example.org"}, {}, {})
    message = email.message_from_bytes(data, policy=email.policy.default)
    return message, data  # type: ignore[return-value]


@pytest.mark.parametrize(
    "subject",
    [
        "Open Society Foundations: " + "a long title of plain words " * 12,
        "Fondations pour une société ouverte : " + "réduction des risques " * 15,
        "مؤسسات المجتمع المفتوح: " + "الحد من الضرر " * 20 + "🎉",
        "x" * 200,  # one word longer than a line keeps its line
    ],
)
def test_a_long_subject_is_folded_into_short_lines_and_reads_back_whole(subject: str) -> None:
    message, data = parsed(subject)
    assert message["Subject"] == subject
    lines = data.split(b"\n")
    assert max(map(len, lines)) <= max(78, len("Subject: ") + 200)
    head = data.split(b"\n\n")[0].split(b"\n")
    assert sum(len(line) > 78 for line in head) <= (1 if "x" * 200 in subject else 0)


def test_text_that_looks_like_an_encoded_word_is_shown_as_written() -> None:
    subject = "Spoof =?utf-8?b?U3Bvb2ZlZA==?= here"
    message, _ = parsed(subject)
    assert message["Subject"] == subject


@pytest.mark.parametrize("value", ["Title\r\nBcc: everyone@example.org", "Title\nX: y", "a\rb"])
def test_a_line_break_in_a_header_value_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="line break"):
        header_value(value)
    with pytest.raises(ValueError, match="one line"):
        header_line("Subject", value)
