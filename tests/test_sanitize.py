"""Editor text made safe for XML and HTML."""

from __future__ import annotations

import pytest

from syndicate.sanitize import clean_html, clean_line, clean_text, html_to_text, text_to_html

BASE = "https://example.org/voices/x"


def test_xml_illegal_characters_are_removed():
    assert clean_text("a\x00b\x08c\x0bd\x1fe\x7ff\x85g\ufffeh\ud800i") == "abcdefghi"


def test_tab_newline_emoji_and_rtl_survive():
    text = "a\tb\nc 🎉 مرحبا \u200f"
    assert clean_text(text) == text


def test_text_is_nfc_normalised():
    assert clean_text("e\u0301") == "\u00e9"


def test_lines_collapse_whitespace():
    assert clean_line("  A\n  title\t with   gaps ") == "A title with gaps"


@pytest.mark.parametrize(
    ("dirty", "clean"),
    [
        ("<script>alert(1)</script><p>ok</p>", "<p>ok</p>"),
        ('<p style="color:red" onclick="x()">ok</p>', "<p>ok</p>"),
        ('<a href="javascript:alert(1)">x</a>', '<a rel="noopener">x</a>'),
        ('<a href="/rel">x</a>', '<a href="https://example.org/rel" rel="noopener">x</a>'),
        (
            '<a href="mailto:a@example.org">x</a>',
            '<a href="mailto:a@example.org" rel="noopener">x</a>',
        ),
        ("<iframe src=x></iframe><object></object><form><input></form>ok", "ok"),
        ("<style>p{}</style><!-- note -->ok", "ok"),
        ('<a title="]]>">x</a>', '<a title="]]&gt;" rel="noopener">x</a>'),
        ("a ]]> b & c", "a ]]&gt; b &amp; c"),
    ],
)
def test_html_is_sanitized(dirty, clean):
    assert clean_html(dirty, BASE) == clean


def test_plain_text_becomes_escaped_paragraphs():
    assert text_to_html("a < b & c\n\nnext") == "<p>a &lt; b &amp; c</p><p>next</p>"


def test_html_to_text_unescapes_and_spaces_blocks():
    assert html_to_text("<p>a &amp; b</p><p>c</p>") == "a & b c"


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "JavaScript:alert(1)", " javascript:alert(1)", "data:text/html,<b>x",
     "data:image/svg+xml;base64,PHN2Zz4=", "vbscript:msgbox(1)", "file:///etc/passwd",
     "blob:https://example.org/x", "ftp://example.org/x", "about:blank", "jar:x!/", "ws://x",
     "tel:+1555", "sms:+1555", "chrome://settings", "view-source:https://example.org/"],
)  # fmt: skip
@pytest.mark.parametrize("attribute", [("a", "href"), ("q", "cite")])
def test_every_url_scheme_but_http_https_and_mailto_is_dropped(url, attribute):
    tag, name = attribute
    cleaned = clean_html(f'<{tag} {name}="{url}">x</{tag}>', BASE)
    assert f"{name}=" not in cleaned, cleaned
