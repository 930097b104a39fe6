"""The private key the service signs fediverse requests with: made once, at first start, by
whichever process gets there first, and kept in the database, so that every machine sharing
the database signs with the key every actor document names."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy.engine import Engine

from syndicate.people.database import insert_ignoring, keys

ACTORS_KEY = "actors"
KEY_BITS = 2048  # what Mastodon makes and every server reads


def signing_key(engine: Engine, now: datetime, name: str = ACTORS_KEY) -> str:
    """The private key `name` (PKCS#8 PEM), made now if there is none yet."""
    with engine.begin() as connection:
        found = connection.execute(
            sa.select(keys.c.private_pem).where(keys.c.name == name)
        ).scalar_one_or_none()
        if found is not None:
            return str(found)
        made = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
        pem = made.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode("ascii")
        insert_ignoring(connection, keys, [{"name": name, "private_pem": pem, "created_at": now}])
        # Another process may have made one at the same moment: the stored one wins.
        return str(
            connection.execute(
                sa.select(keys.c.private_pem).where(keys.c.name == name)
            ).scalar_one()
        )


def public_pem(private_pem: str) -> str:
    """The public half of `private_pem` (SubjectPublicKeyInfo PEM), as actor documents give it."""
    private = serialization.load_pem_private_key(private_pem.encode("ascii"), password=None)
    return (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )
