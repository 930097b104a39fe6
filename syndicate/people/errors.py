"""The people wing's one error that leaves it: the database cannot be used.

Apart from `database.py` so that the CLI can name it without loading SQLAlchemy.
"""


class DatabaseUnavailable(RuntimeError):
    """The database is down or cannot write; the message says why (never a password)."""
