"""Email updates' channel: addresses, signed links, the messages and the relay.

No SQL here (the people wing, `syndicate/people`, owns the database) and no HTTP (the web
layer's `web/signup.py` and `web/mailer.py` are the thin ends): what an address may be,
what a link in an email proves, what a message looks like, and how the relay is spoken to.
"""
