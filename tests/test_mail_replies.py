"""Whose fault a relay's reply is (syndicate/mail/replies.py), as a table of the replies real
relays give (Postfix's own wording where it has one, from its smtpd and cleanup): only RCPT TO
with an address status marks a recipient bounced."""

from __future__ import annotations

import pytest

from syndicate.mail.addresses import AddressError, envelope, normalised
from syndicate.mail.replies import Outcome, Phase, sort, speaks_of_recipient

BOUNCED, LATER, RELAY, SET_ASIDE = Outcome.BOUNCED, Outcome.LATER, Outcome.RELAY, Outcome.SET_ASIDE


@pytest.mark.parametrize(
    ("phase", "code", "text", "outcome"),
    [
        # The session: nobody's address, whatever the code.
        (Phase.CONNECT, 554, "5.7.1 no SMTP service here", RELAY),
        (Phase.CONNECT, 504, "5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname", RELAY),
        (Phase.AUTH, 535, "5.7.8 Error: authentication failed: authentication failure", RELAY),
        (Phase.AUTH, 530, "5.7.0 Must issue a STARTTLS command first", RELAY),
        (Phase.MAIL, 553, "5.7.1 <x@y>: Sender address rejected: not owned by user", RELAY),
        (Phase.MAIL, 550, "5.1.0 <x@y>: Sender address rejected: User unknown", RELAY),
        (Phase.MAIL, 530, "5.7.0 Authentication required", RELAY),
        (Phase.MAIL, 452, "4.3.1 Insufficient system storage", RELAY),
        (Phase.DATA, 421, "4.3.2 Service shutting down", RELAY),
        (Phase.RCPT, 421, "4.7.0 too many errors", RELAY),
        # Postfix delays its client, HELO and sender restrictions to RCPT (smtpd_delay_reject).
        (Phase.RCPT, 554, "5.7.1 <a@b>: Relay access denied", RELAY),
        (Phase.RCPT, 454, "4.7.1 <a@b>: Relay access denied", RELAY),
        (Phase.RCPT, 553, "5.7.1 <x@y>: Sender address rejected: not logged in", RELAY),
        (Phase.RCPT, 504, "5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname", RELAY),
        (Phase.RCPT, 530, "5.7.0 Authentication required", RELAY),
        (Phase.RCPT, 450, "4.7.1 Client host rejected: cannot find your hostname", RELAY),
        # The recipient, for good.
        (Phase.RCPT, 550, "5.1.1 <a@b>: Recipient address rejected: User unknown in virtual mailbox table", BOUNCED),
        (Phase.RCPT, 550, "5.1.2 bad destination system address", BOUNCED),
        (Phase.RCPT, 553, "5.1.3 bad destination mailbox address syntax", BOUNCED),
        (Phase.RCPT, 551, "5.1.6 mailbox has moved", BOUNCED),
        (Phase.RCPT, 556, "5.1.10 Recipient address has null MX", BOUNCED),
        (Phase.RCPT, 550, "5.2.1 mailbox disabled, not accepting messages", BOUNCED),
        (Phase.RCPT, 550, "no such user here", BOUNCED),  # a relay without enhanced codes
        # The recipient, for now.
        (Phase.RCPT, 450, "4.2.0 <a@b>: Recipient address rejected: Greylisted", LATER),
        (Phase.RCPT, 452, "4.2.2 mailbox full", LATER),
        (Phase.RCPT, 552, "5.2.2 mailbox full", LATER),  # RFC 5321 4.5.3.1.10: as 452
        # This message, for itself: kept aside, never retried in a loop, nobody bounced.
        (Phase.RCPT, 550, "5.7.1 <a@b>: Recipient address rejected: Access denied", SET_ASIDE),
        (Phase.MAIL, 552, "5.3.4 Message size exceeds fixed limit", SET_ASIDE),
        (Phase.DATA, 552, "5.3.4 Message size exceeds fixed limit", SET_ASIDE),
        (Phase.DATA, 550, "5.7.1 Message content rejected", SET_ASIDE),
        (Phase.DATA, 554, "5.6.0 Malformed message", SET_ASIDE),
        (Phase.DATA, 451, "4.3.0 Error: queue file write error", LATER),
    ],
)  # fmt: skip
def test_a_reply_is_sorted_by_the_step_that_drew_it(phase, code, text, outcome):
    assert sort(phase, code, text) is outcome


@pytest.mark.parametrize(
    ("code", "text", "bad"),
    [(550, "5.1.1 user unknown", True), (550, "5.7.1 spam", False), (450, "4.1.1 later", False),
     (550, "5.1.8 Sender address rejected", False), (554, "5.1.1 relay says", False),
     (550, "unknown user", True), (554, "transaction failed", False)],
)  # fmt: skip
def test_only_an_address_status_speaks_of_the_recipient(code, text, bad):
    assert speaks_of_recipient(code, text) is bad


def test_a_domain_beyond_ascii_is_one_row_and_goes_out_as_its_a_label():
    assert normalised("user@xn--exmple-cua.org") == normalised("user@EXÄMPLE.org")
    assert envelope(normalised("user@xn--exmple-cua.org")) == "user@xn--exmple-cua.org"
    assert envelope("user@bücher.de") == "user@xn--bcher-kva.de"
    assert envelope("user@example.org") == "user@example.org"


def test_a_local_part_beyond_ascii_is_refused_at_sign_up_and_cannot_go_out():
    with pytest.raises(AddressError, match="before the @"):
        normalised("üser@example.org")
    with pytest.raises(AddressError, match="SMTPUTF8"):
        envelope("üser@example.org")


def test_an_ipv6_client_is_limited_by_its_64_and_a_mapped_ipv4_by_its_address():
    from syndicate.web.limits import ClientLimiter, network_of

    assert (
        network_of("2001:db8:1:2:aaaa::1")
        == network_of("2001:db8:1:2:ffff::9")
        == "2001:db8:1:2::/64"
    )
    assert network_of("2001:db8:1:3::1") != network_of("2001:db8:1:2::1")
    assert network_of("::ffff:192.0.2.1") == "192.0.2.1" and network_of("192.0.2.1") == "192.0.2.1"
    limiter = ClientLimiter(3, 60)
    assert [limiter.allow(f"2001:db8:1:2::{n}", 0.0) for n in range(4)][-1] > 0
    assert limiter.allow("2001:db8:1:3::1", 0.0) == 0
