"""Who a User-Agent is, for reach (reach/clients.py): each hosted reader's own form with its
subscriber figure, self-hosted readers and calendar apps by family, known bots apart; from
User-Agent strings recorded as the clients send them (tests/fixtures/reach)."""

from __future__ import annotations

from pathlib import Path

import pytest

from syndicate.reach.clients import BOT, HOSTED, MAX_SUBSCRIBERS, POLLER, classify

RECORDED = Path(__file__).parent / "fixtures" / "reach" / "user_agents.txt"


def recorded() -> list[tuple[str, str, int | None, str]]:
    found = []
    for line in RECORDED.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        kind, name, figure, user_agent = (part.strip() for part in line.split("|", 3))
        found.append((kind, name, None if figure == "-" else int(figure), user_agent))
    return found


@pytest.mark.parametrize(("kind", "name", "figure", "user_agent"), recorded())
def test_a_recorded_user_agent_is_told_apart(kind, name, figure, user_agent):
    client = classify(user_agent)
    assert (client.kind, client.name, client.subscribers) == (kind, name, figure)


def test_every_kind_of_client_is_recorded():
    kinds = {kind for kind, *_ in recorded()}
    assert kinds == {HOSTED, POLLER, BOT}


def test_any_n_subscribers_pattern_is_a_hosted_reader_named_by_its_product():
    client = classify("NewReaderCo/3.1 (+https://newreader.example/bot; 1234 subscribers)")
    assert (client.kind, client.name, client.subscribers) == (HOSTED, "NewReaderCo", 1234)


def test_a_figure_past_belief_is_not_taken():
    client = classify(f"Forged/1.0 ({MAX_SUBSCRIBERS + 1} subscribers)")
    assert client.kind == POLLER and client.subscribers is None


def test_a_hosted_readers_name_keeps_no_markup_or_long_text():
    client = classify("<script>alert(1)</script>" + "x" * 200 + "/1.0 (5 subscribers)")
    assert client.kind == HOSTED
    assert "<" not in client.name and ">" not in client.name and len(client.name) <= 40


def test_a_bot_calling_itself_a_browser_is_a_bot():
    googlebot = recorded()[-7][3]
    assert "Googlebot" in googlebot and googlebot.startswith("Mozilla/5.0 (Linux")
    assert classify(googlebot).kind == BOT


def test_a_compatible_form_names_the_product_not_its_version():
    client = classify("Mozilla/5.0 (compatible; Feedfetch/2.0 (+https://x.example); 9 subscribers)")
    assert (client.kind, client.name, client.subscribers) == (HOSTED, "Feedfetch", 9)
