"""Deliberate bugs that the suite must catch: `make mutants`.

Each mutant is one small edit to the code (the six bugs issue 7 found passing the whole
suite, and what partners' embeds must never do). For each, the working tree is copied to a temporary folder,
the edit applied there (never here), and the suite run with `-x`: the mutant is caught if
a test fails. Prints which test caught each, and exits 1 if any mutant survives. Arguments: run only the
mutants whose description contains one of them.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (what the bug is, file, the code as it is, the code with the bug)
MUTANTS = [
    ("a gzip client's 304 carries the identity ETag", "syndicate/web/responses.py",
     "not_modified_gzip=_headers(without_type(gzipped)),",
     "not_modified_gzip=_headers(without_type(identity)),"),
    ("a 304 without Last-Modified", "syndicate/web/responses.py",
     '    return {k: v for k, v in fields.items() if k != "Content-Type"}',
     '    return {k: v for k, v in fields.items() if k not in ("Content-Type", "Last-Modified")}'),
    ("entries sorted by updated instead of published", "syndicate/model.py",
     "    return (item.published, item.id)", "    return (item.updated, item.id)"),
    ("feed_size applied before withdrawn items are set aside", "syndicate/feeds.py",
     "entries = tuple(islice((item for item in selected if item.withdrawn is None), site.feed_size))",
     "entries = tuple(item for item in selected[: site.feed_size] if item.withdrawn is None)"),
    ("tombstones oldest first", "syndicate/feeds.py",
     "item.id),\n            reverse=True,", "item.id),\n            reverse=False,"),
    ("Last-Modified from the newest entry's published", "syndicate/feeds.py",
     "    if shown:\n        return max(last_change(item) for item in shown)",
     "    if entries:\n        return entries[0].published\n"
     "    if shown:\n        return max(last_change(item) for item in shown)"),
    # Issue 9: what partners embed.
    ("the embed inserts feed text as HTML", "syndicate/static/embed.js",
     "if (content) node.textContent = content;", "if (content) node.innerHTML = content;"),
    ("the embed follows javascript: links", "syndicate/static/embed.js",
     'return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;',
     "return url.href;"),
    ("the embed injects an inline <style>", "syndicate/static/embed.js",
     "this.root.adoptedStyleSheets = [SHEET, this.rows];",
     'this.root.adoptedStyleSheets = [this.rows]; this.root.append(Object.assign(document.createElement("style"), { textContent: CSS }));'),
    ("the embed's stylesheet reserves no space", "syndicate/static/embed.css",
     "syndicate-feed{display:block;box-sizing:border-box;--_rows:5;",
     "syndicate-feed{box-sizing:border-box;--_rows:5;"),
    ("pages rendered without autoescaping", "syndicate/templating.py",
     'autoescape=jinja2.select_autoescape(disabled_extensions=("txt",), default=True),',
     "autoescape=False,"),
    ("iframe pages' links open inside the iframe", "syndicate/render/fragment.py",
     'target="_top",', 'target="",'),
    # Issue 10: push and history.
    ("archive pages counted from the newest item", "syndicate/archives.py",
     "items = oldest_first(selected_items(catalog, key))",
     "items = list(reversed(oldest_first(selected_items(catalog, key))))"),
    ("a hub's delivered pings forgotten (pinged again and again)", "syndicate/web/websub.py",
     "                self.told[hub][url] = etag", "                pass"),
    ("what hubs were told not saved across restarts", "syndicate/web/websub.py",
     "        if self.path is None:\n            return\n        replace_file(self.path",
     "        if True:\n            return\n        replace_file(self.path"),
    # Issue 11: scale.
    ("a rebuild reuses an empty feed dated by another item's change", "syndicate/snapshot.py",
     "source = (key, selected_items(catalog, key), view.updated)",
     "source = (key, selected_items(catalog, key))"),
    ("a rebuild keeps the time epoch after an event ended", "syndicate/reuse.py",
     "        and (previous.next_change is None or now < previous.next_change)\n", "\n"),
    ("items loaded before a site change reused after it", "syndicate/loader.py",
     "        if context != self.context:\n            return False\n", ""),
    ("the nginx cache keeps gzip and identity under one key", "syndicate/nginx.py",
     """{_location("/", '"$syndicate_encoding $uri"')}""", """{_location("/", '"$uri"')}"""),
    ("a dead worker is not restarted", "syndicate/web/pool.py",
     "                self.start(index)\n        return None", "                pass\n        return None"),
    ("the static export's files dated now, not by Last-Modified", "syndicate/export.py",
     "        replace_file(file, data, mtime=moment)", "        replace_file(file, data)"),
    # Issue 18: editors.
    ("a draft published like any other item", "syndicate/schedule.py",
     "if item.published <= moment and not item.draft]", "if item.published <= moment]"),
    ("a preview shows drafts unmarked", "syndicate/preview.py",
     "    waiting += [marked(item, DRAFT_MARK) for item in published.drafts]",
     "    waiting += list(published.drafts)"),
    ("a preview tells the hubs", "syndicate/preview.py",
     "    return replace(site, preview=True, hubs=())", "    return replace(site, preview=True)"),
    ("a placeholder of `new` published", "syndicate/items.py",
     "        if not values.get(\"draft\", False):\n            self._no_placeholders(node)",
     "        pass"),
    ("a former slug answers 404", "syndicate/web/handlers.py",
     "        moved = _moved(request, current)", "        moved = None"),
    ("a renamed feed gets a new id", "syndicate/model.py",
     "        return self.aliases[0] if self.aliases else self.slug\n\n\n@dataclass(frozen=True)\nclass Topic:",
     "        return self.slug\n\n\n@dataclass(frozen=True)\nclass Topic:"),
    ("a removed item vanishes from the feeds", "syndicate/build.py",
     "        shown = with_kept(shown, kept_as_withdrawn(removals, shown, source))",
     "        shown = with_kept(shown, [])"),
    ("a duplicate id blamed on the first in file order", "syndicate/loader.py",
     "        if ref != keeper:", "        if ref != found[0][0]:"),
    ("an event's change read in another zone than the site's", "syndicate/items.py",
     '"date", self.site_zone, f"changes[{index}].date")',
     '"date", ZoneInfo("UTC"), f"changes[{index}].date")'),
    # Issue 21: reach.
    ("pollers hashed without the day's salt", "syndicate/web/reach.py",
     "self.hasher = hashlib.blake2b(key=key, digest_size=16)",
     "self.hasher = hashlib.blake2b(digest_size=16)"),
    ("a poller is its address alone (two readers at one address, one poller)",
     "syndicate/web/reach.py", 'seen = f"{path}\\0{address}\\0{user_agent or \'\'}"',
     'seen = f"{path}\\0{address}"'),
    ("X-Forwarded-For believed from any peer", "syndicate/web/reach.py",
     "            if forwarded and trust(address):", "            if forwarded:"),
    ("a hosted reader's figures added up over the day", "syndicate/reach/tally.py",
     "        readers[reader] = subscribers", "        readers[reader] = readers.get(reader, 0) + subscribers"),
    ("answers noted before midnight counted in the next day", "syndicate/web/reach.py",
     "        if now >= self.until_ts and self.due > self.until_ts:",
     "        if now >= self.until_ts:"),
    ("clients waiting to be counted not bounded", "syndicate/web/reach.py",
     "        elif len(self.noted) >= NOTED or self.noted_chars >= NOTED_CHARS:",
     "        elif False:"),
    ("pollers remembered within the minute not bounded", "syndicate/web/reach.py",
     "            if len(recent) >= RECENT:", "            if False:"),
    ("pollers over all feeds not bounded", "syndicate/reach/tally.py",
     " or len(self._seen) >= ALL_POLLERS:", ":"),
    ("a client's answers waiting together counted as one", "syndicate/reach/tally.py",
     "        counts[0] += ok + not_modified + other", "        counts[0] += 1"),
    ("known bots counted as readers", "syndicate/web/reach.py",
     "            if client.kind == BOT:", "            if False:"),
    ("the stats page shown to anyone", "syndicate/web/stats.py",
     "        if not signed_in:", "        if False:"),
    ("sign-ins from one address not limited", "syndicate/people/signins.py",
     "    if found.client_attempts >= CLIENT_LIMIT and found.client_oldest is not None:",
     "    if False:"),
    ("the stats session cookie readable by scripts", "syndicate/web/stats.py",
     'httponly=True, samesite="Strict",', 'httponly=False, samesite="Strict",'),
    ("the nginx tier caches /stats/ like the feeds", "syndicate/nginx.py",
     "{STATS_LOCATION}\n", "\n"),
    # Issue 30: requests that hold or crash a worker.
    ("a request body counted as its head", "syndicate/web/connections.py",
     "        if self.body_started is not None:\n            self.body_bytes += len(data)\n"
     "        elif self.head_started is None and not self._busy():",
     "        if self.head_started is None and not (self._current_request is not None or bool(self._messages)):"),
    ("slow request bodies never closed", "syndicate/web/connections.py",
     "            if body is not None and _slow(", "            if False and body is not None and _slow("),
    ("slow request bodies not shed near the bound", "syndicate/web/connections.py",
     "closed += self._shed_slow_bodies(len(self._connections) - closed - self.max_connections)",
     "closed += 0"),
    ("the nginx tier lets anyone read /healthz and /metrics", "syndicate/nginx.py",
     "        allow ::1;\n        deny all;\n", "\n"),
    ("the access log keeps the client's address", "syndicate/web/accesslog.py",
     "{network(request.remote)}", "{request.remote}"),
    # Issue 20: the fediverse.
    ("an inbox believes an activity signed by another actor", "syndicate/web/fediverse.py",
     'if remote.id != activity["actor"]:', "if False:"),
    ("the fediverse told the back catalogue at its first telling",
     "syndicate/people/deliveries.py", "        if first:\n            return told\n", "\n"),
    ("fetches reach private addresses", "syndicate/fediverse/remote.py",
     "    if public_address(address):\n        return True\n", "    return True\n"),
    ("an Update told only to the item's new audience", "syndicate/people/deliveries.py",
     "audience = tuple(dict.fromkeys((*json.loads(before.audience), *item.audience)))",
     "audience = item.audience"),
    ("the nginx tier serves a browser's redirect to servers", "syndicate/nginx.py",
     "'\"$syndicate_encoding $syndicate_browser $uri\"'", "'\"$syndicate_encoding $uri\"'"),
    ("a cavage signature's body digest unchecked", "syndicate/fediverse/signatures.py",
     "    if received.body:\n        _check_digest(received)\n", "\n"),
    ("an RFC 9421 signature leaving the body unsigned believed",
     "syndicate/fediverse/signatures.py",
     'if received.body and "content-digest" not in covered:', "if False:"),
    # Issue 19: email updates.
    ("a confirmation link confirms without its nonce", "syndicate/people/subscriptions.py",
     "subscriptions.c.id == subscription_id, subscriptions.c.nonce == nonce",
     "subscriptions.c.id == subscription_id"),
    ("the back catalogue mailed at the first announcement", "syndicate/people/outbox.py",
     "        if first:\n            return []\n", "\n"),
    ("a message marked sent before the relay answers", "syndicate/web/mailer.py",
     "        answer = await connection.send(email.data, envelope_from, email.recipient)\n",
     "        await self.db.run(outbox.sent, [due.id], self.clock.now())\n"
     "        answer = await connection.send(email.data, envelope_from, email.recipient)\n"),
    ("a bounce keeps the address mailed", "syndicate/people/bounces.py",
     ".where(subscribers.c.id == subscriber_id, subscribers.c.bounced_at.is_(None))",
     ".where(subscribers.c.id == -1, subscribers.c.bounced_at.is_(None))"),
    # Issue 29: email through a real relay.
    ("a refusal of the sender bounces the recipient", "syndicate/mail/replies.py",
     "    if code == 421 or phase in (Phase.CONNECT, Phase.AUTH, Phase.MAIL):",
     "    if code == 421 or phase in (Phase.CONNECT, Phase.AUTH):"),
    ("a 5xx at DATA bounces the recipient", "syndicate/mail/replies.py",
     "    if phase is Phase.RCPT and speaks_of_recipient(code, text):",
     "    if speaks_of_recipient(code, text) or phase is Phase.DATA:"),
    ("the relay's fault recorded against the message", "syndicate/web/mailer.py",
     "        elif answer.outcome is Outcome.RELAY:\n            faults.append(answer.reply)\n",
     "        elif answer.outcome is Outcome.RELAY:\n            faults.append(answer.reply)\n"
     "            await self.db.run(outbox.retry, due.id, now + retry_delay(due.attempts), answer.reply)\n"),
    ("a message that cannot be made stops the session", "syndicate/web/mailer.py",
     "        except Exception as error:  # an address or a text that cannot go in a message",
     "        except KeyError as error:  # an address or a text that cannot go in a message"),
    ("a password sent where the relay offers no TLS", "syndicate/mail/relay.py",
     "        need_tls = bool(relay.username) and not relay.cleartext_auth",
     "        need_tls = False"),
    ("the daily limit counts spellings, not mailboxes", "syndicate/people/subscriptions.py",
     '    local = local.split("+", 1)[0]\n', ""),
    ("soft bounces suppress one too late", "syndicate/people/bounces.py",
     "        if count >= SOFT_LIMIT:", "        if count > SOFT_LIMIT:"),
    ("a return path's token taken unchecked", "syndicate/web/returns.py",
     "        if key is None or not verp.verify(token, key, self.secret):",
     "        if key is None:"),
    ("a delayed DSN counted as a failure", "syndicate/mail/returns.py",
     '    failed = [status for action, status in statuses if action.startswith(("fail", "error"))]',
     "    failed = [status for action, status in statuses]"),
    ("a Mailgun event replayed", "syndicate/web/webhooks.py",
     "        if token in self.seen:", "        if token in self.seen and False:"),
    ("item text put into email HTML unescaped", "syndicate/templates/email/update.html",
     '<a href="{{ entry.url }}">{{ entry.title }}</a>',
     '<a href="{{ entry.url }}">{{ entry.title|safe }}</a>'),
    # Issue 17: what independent clients found, and classes of bug the suite let through.
    ("an event ending exactly now still upcoming", "syndicate/feeds.py",
     "return soonest_first(item for item in events if ends(item) > now)",
     "return soonest_first(item for item in events if ends(item) >= now)"),
    ("the next view change is the moment an event ends, again", "syndicate/feeds.py",
     "if i.event and ends(i) > now), default=None)", "if i.event and ends(i) >= now), default=None)"),
    ("the timer waits for the last scheduled item, not the next", "syndicate/web/content.py",
     "return scheduled[0].published if scheduled else None",
     "return scheduled[-1].published if scheduled else None"),
    ("data: URLs kept in links of HTML content", "syndicate/sanitize.py",
     'ALLOWED_SCHEMES = frozenset({"http", "https", "mailto"})',
     'ALLOWED_SCHEMES = frozenset({"http", "https", "mailto", "data"})'),
    ("the embed fetches once per attribute, not once per element", "syndicate/static/embed.js",
     "    if (this.scheduled) return;\n", "\n"),
    ("the embed keeps the space of `limit` rows when it shows fewer", "syndicate/static/embed.js",
     '    this.setAttribute("loaded", "");\n', "\n"),
    ("a worker reads its own status for every worker of the pool", "syndicate/web/member.py",
     "return status_path(self.folder, self.index if index is None else index)",
     "return status_path(self.folder, self.index)"),
    ("archive pages break ties in publication the way feeds do (an item in neither)",
     "syndicate/model.py", "    return tuple(sorted(items, key=publication_order))\n",
     "    return tuple(sorted(newest_first(items), key=lambda item: item.published))\n"),
]  # fmt: skip


def main() -> int:
    survivors = 0
    chosen = [m for m in MUTANTS if not sys.argv[1:] or any(a in m[0] for a in sys.argv[1:])]
    for what, name, original, mutated in chosen:
        with tempfile.TemporaryDirectory(prefix="syndicate-mutant-") as folder:
            copy = Path(folder) / "tree"
            shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".venv", ".git", "*.pyc"))
            target = copy / name
            text = target.read_text(encoding="utf-8")
            if text.count(original) != 1:
                print(f"?? {what}: the code to mutate is not in {name} exactly once; update")
                return 2
            target.write_text(text.replace(original, mutated), encoding="utf-8")
            result = subprocess.run(
                # Not the test that mutants apply: a mutant removes its own code by design.
                [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                 "-n", "4", "--dist", "loadfile", "--ignore=tests/test_mutants_apply.py"],
                cwd=copy, capture_output=True, text=True, timeout=900,
            )  # fmt: skip
            caught = [line for line in result.stdout.splitlines() if line.startswith("FAILED")]
            if result.returncode == 0:
                survivors += 1
                print(f"SURVIVED  {what}")
            else:
                print(
                    f"caught    {what}: {caught[0].removeprefix('FAILED ') if caught else result.stdout[-300:]}"
                )
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
