"""Making editor text safe for every output format.

* `clean_text`: removes characters XML 1.0 forbids (and C1 controls), which would make a
  feed unparseable, then normalises to NFC so equal text gives equal bytes.
* `clean_line`: `clean_text` plus collapsed whitespace, for titles and names.
* `clean_html`: the restricted HTML subset editors may use in summaries and content,
  sanitized once at load with nh3 (Ammonia): allowlisted tags and attributes only, links
  limited to http, https and mailto, relative URLs made absolute, `rel="noopener"`.
* `text_to_html` / `html_to_text`: the plain and HTML forms of the same text.
"""

from __future__ import annotations

import html
import re
import unicodedata
from urllib.parse import urljoin, urlsplit

import nh3

# XML 1.0 Char production, minus C0/C1 controls other than tab, newline and return:
# https://www.w3.org/TR/xml/#charsets
_XML_ILLEGAL = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]"
)
_WHITESPACE = re.compile(r"\s+")

ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "cite", "code", "em", "h2", "h3", "h4",
        "i", "li", "ol", "p", "pre", "q", "s", "small", "strong", "sub", "sup", "ul",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title", "hreflang"}, "abbr": {"title"}, "q": {"cite"}}
ALLOWED_SCHEMES = frozenset({"http", "https", "mailto"})
_URL_ATTRIBUTES = frozenset({"href", "cite"})


def clean_text(value: str) -> str:
    """Remove XML-illegal and control characters; NFC-normalise."""
    return unicodedata.normalize("NFC", _XML_ILLEGAL.sub("", value))


def clean_line(value: str) -> str:
    """`clean_text`, with every run of whitespace (newlines included) made one space."""
    return _WHITESPACE.sub(" ", clean_text(value)).strip()


def clean_html(value: str, base_url: str) -> str:
    """Sanitize an HTML fragment; relative links are resolved against `base_url`."""

    def keep_attribute(tag: str, attribute: str, attr_value: str) -> str | None:
        if attribute not in _URL_ATTRIBUTES:
            return attr_value
        absolute = urljoin(base_url, attr_value.strip())
        return absolute if urlsplit(absolute).scheme in ALLOWED_SCHEMES else None

    cleaned = nh3.clean(
        clean_text(value),
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(ALLOWED_SCHEMES),
        link_rel="noopener",
        attribute_filter=keep_attribute,
        strip_comments=True,
    )
    # nh3 decodes character references (`&#x1;`) and writes the characters out, so the
    # XML-illegal ones are removed again from what it returns, not only from what it got.
    # Serialized HTML leaves ">" unescaped inside attribute values; "]]>" there would end
    # the CDATA section a feed writer may wrap the HTML in. "&gt;" means the same in HTML.
    return clean_text(cleaned).replace("]]>", "]]&gt;").strip()


def text_to_html(value: str) -> str:
    """Plain text as HTML: escaped, one <p> per blank-line-separated paragraph."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", value.strip()) if p.strip()]
    return "".join(
        f"<p>{html.escape(_WHITESPACE.sub(' ', p), quote=False)}</p>" for p in paragraphs
    )


def html_to_text(value: str) -> str:
    """The text of a sanitized HTML fragment, tags removed and whitespace collapsed."""
    spaced = re.sub(r"<(br|/p|/li|/h[2-4]|/blockquote|/pre)\b[^>]*>", " ", value)
    return clean_line(html.unescape(nh3.clean(spaced, tags=set())))
