"""A fake fediverse server for the tests, in the test process on 127.0.0.1: one actor (alice)
with her own RSA key, an inbox and a shared inbox that keep what they are sent and check its
signature, and answers the tests can set (down, refusing, slow)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from multidict import CIMultiDict

from syndicate.fediverse import signatures


def rsa_pems() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()  # fmt: skip
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


ALICE_PRIVATE, ALICE_PUBLIC = rsa_pems()


@dataclass
class Received:
    path: str
    activity: dict[str, Any]
    headers: CIMultiDict[str]
    body: bytes


@dataclass
class FakeServer:
    """What the fake server was sent, and how it answers."""

    base: str = ""
    received: list[Received] = field(default_factory=list)
    status: int = 202  # what the inboxes answer
    actor_status: int = 200  # what alice's actor document answers (410: deleted)
    public_pem: str = ALICE_PUBLIC

    @property
    def alice(self) -> str:
        return f"{self.base}/users/alice"

    @property
    def key_id(self) -> str:
        return f"{self.alice}#main-key"

    def actor(self) -> dict[str, Any]:
        return {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": self.alice, "type": "Person", "preferredUsername": "alice",
            "inbox": f"{self.alice}/inbox", "outbox": f"{self.alice}/outbox",
            "endpoints": {"sharedInbox": f"{self.base}/inbox"},
            "publicKey": {"id": self.key_id, "owner": self.alice, "publicKeyPem": self.public_pem},
        }  # fmt: skip

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [r.activity for r in self.received if r.activity.get("type") == kind]

    def sign(self, url: str, activity: dict[str, Any], now: datetime,
             private: str = ALICE_PRIVATE) -> tuple[bytes, dict[str, str]]:  # fmt: skip
        """Alice's signed POST of `activity` to `url`: its body and headers."""
        body = json.dumps(activity).encode()
        return body, signatures.sign("POST", url, self.key_id, private, now, body)


def app(server: FakeServer) -> web.Application:
    async def actor(request: web.Request) -> web.Response:
        if server.actor_status != 200:
            return web.Response(status=server.actor_status)
        return web.json_response(server.actor(), content_type="application/activity+json")

    async def inbox(request: web.Request) -> web.Response:
        body = await request.read()
        server.received.append(
            Received(request.path, json.loads(body), CIMultiDict(request.headers), body)
        )
        return web.Response(status=server.status)

    application = web.Application()
    application.router.add_get("/users/alice", actor)
    application.router.add_post("/users/alice/inbox", inbox)
    application.router.add_post("/inbox", inbox)
    return application


async def start_fake_server() -> tuple[FakeServer, TestServer]:
    server = FakeServer()
    running = TestServer(app(server), host="127.0.0.1")
    await running.start_server()
    server.base = f"http://127.0.0.1:{running.port}"
    return server, running
