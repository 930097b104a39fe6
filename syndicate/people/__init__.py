"""The people wing: everything the service keeps about people, in one database.

Until email updates, every byte the service served was a pure function of the content. Who
subscribed to what, what is due to whom and what was sent are state, and live here only:
`database.py` owns the engine (SQLite in the state folder by default, PostgreSQL by
SYNDICATE_DATABASE_URL), the tables and the migrations (Alembic, run at start); the modules
beside it are the only code that writes SQL, each feature through a few named functions
(`subscriptions.py`: sign-up, confirmation, unsubscribing, the manage page; `outbox.py`:
what went live, what is due to whom, claiming and marking sends). Everything else calls
those functions, so every query is found here and runs on both engines in the tests.

Personal data kept: an address, its subscriptions, when each was confirmed (consent), and
whether mail to it bounced. Nothing else: no IP address, no name, no client.
"""
