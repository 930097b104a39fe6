"""Interoperability with Fedify (JavaScript), the library Ghost's ActivityPub service is built
on: a Fedify server on loopback HTTPS (a test CA) looks @harm-reduction up by WebFinger,
follows it with Fedify's own signature, which our inbox verifies, and its inbox (verifying
every signature with Fedify's own code) accepts our Accept, then the Create of an item added
as a YAML file, the Update after an edit and the Delete after its withdrawal.

The server is tests/fedify_peer/peer.mjs, its Fedify pinned by package-lock.json and
installed by `make test` (npm). Real clocks: Fedify checks dates against the machine's."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiohttp.test_utils import RawTestServer

from syndicate.settings import Settings
from syndicate.web import Service
from tests.conftest import CONTENT
from tests.live import free_port

PEER = Path(__file__).resolve().parent / "fedify_peer"
NEW_ITEM = """item:
  id: fedify-item
  type: events
  title: Naloxone training in Baltimore
  summary: How to recognise an overdose and reverse it.
  url: https://www.opensocietyfoundations.org/events/naloxone-training-baltimore
  published: 2026-11-20T09:30
  topics: [harm-reduction]
  start: 2027-02-04T18:00
  end: 2027-02-04T20:00
  timezone: America/New_York
  venue: Open Society Institute–Baltimore
  city: Baltimore
  country: United States
"""


def fedify_installed() -> None:
    if shutil.which("node") and (PEER / "node_modules" / "@fedify" / "fedify").is_dir():
        return
    message = "Fedify is not installed (`make test` installs it with npm)"
    if os.environ.get("CI"):
        pytest.fail(message + "; CI must run this test")
    pytest.skip(message)


@dataclass
class FedifyPeer:
    process: asyncio.subprocess.Process
    events: list[dict[str, Any]] = field(default_factory=list)

    async def read(self) -> None:
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            self.events.append(json.loads(line))

    async def wait_for(self, kind: str, count: int = 1) -> list[dict[str, Any]]:
        async with asyncio.timeout(30):
            while len(self.of_type(kind)) < count:
                errors = self.of_type("error")
                assert not errors, errors
                await asyncio.sleep(0.05)
        return self.of_type(kind)

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [event for event in self.events if event["type"] == kind]


@dataclass
class World:
    service: Service
    peer: FedifyPeer
    folder: Path
    topic: str


@pytest.fixture
def target() -> str:
    """The handle the Fedify server follows (a test may ask for another)."""
    return "harm-reduction"


@pytest.fixture
async def world(tmp_path: Path, target: str) -> AsyncIterator[World]:
    fedify_installed()
    ca = trustme.CA()
    ca_file, cert_file, key_file = tmp_path / "ca.pem", tmp_path / "cert.pem", tmp_path / "key.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    issued = ca.issue_cert("localhost", "127.0.0.1")
    issued.private_key_pem.write_to_path(str(key_file))
    issued.cert_chain_pems[0].write_to_path(str(cert_file))
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    issued.configure_cert(server_tls)

    folder = tmp_path / "content"
    shutil.copytree(CONTENT, folder)
    port = free_port()
    host = f"localhost:{port}"
    service = Service(Settings(
        config=folder, state_dir=tmp_path / "state", public_url=f"https://{host}", port=port,
        watch=False, access_log=False, fediverse=True, federation_allow_local=True,
        federation_ca_file=ca_file,
    ))  # fmt: skip
    await service.start()
    ours = RawTestServer(service.handle, host="127.0.0.1", port=port)
    await ours.start_server(ssl=server_tls)
    assert service.deliverer is not None
    await service.deliverer.round()  # takes note of what is live

    peer_port = free_port()
    process = await asyncio.create_subprocess_exec(
        "node", str(PEER / "peer.mjs"), cwd=str(PEER), stdout=subprocess.PIPE,
        env={**os.environ, "PORT": str(peer_port), "CERT": str(cert_file),
             "KEY": str(key_file), "TARGET": f"{target}@{host}",
             "NODE_EXTRA_CA_CERTS": str(ca_file)},
    )  # fmt: skip
    peer = FedifyPeer(process)
    reading = asyncio.ensure_future(peer.read())
    try:
        yield World(service, peer, folder, f"https://{host}/ap/actors/{target}")
    finally:
        process.terminate()
        await process.wait()
        reading.cancel()
        await ours.close()
        await service.stop()


async def delivered(world: World, kind: str) -> dict[str, Any]:
    assert world.service.deliverer is not None
    await world.service.deliverer.round()
    return (await world.peer.wait_for(kind))[-1]


async def test_fedify_follows_a_topic_found_by_webfinger_and_verifies_our_accept(world: World):
    (followed,) = await world.peer.wait_for("followed")
    assert followed["topic"] == world.topic and followed["name"] == "Harm Reduction"
    accept = await delivered(world, "Accept")
    assert accept["actor"] == world.topic
    assert [e["status"] for e in world.peer.of_type("inbox")] == [202]  # verified by Fedify
    assert world.service.database is not None
    from syndicate.people import followers

    assert await world.service.database.run(followers.count, "harm-reduction") == 1


async def test_fedify_gets_an_event_s_create_update_and_delete(world: World):
    await world.peer.wait_for("followed")
    await delivered(world, "Accept")
    service = world.service
    (world.folder / "items" / "fedify.yaml").write_text(NEW_ITEM)
    assert await service.store.reload("test")
    create = await delivered(world, "Create")
    assert create["actor"] == world.topic and create["kind"] == "Note"
    assert "Naloxone training in Baltimore" in create["content"]
    assert "4 February 2027" in create["content"] and "Baltimore" in create["content"]
    (world.folder / "items" / "fedify.yaml").write_text(
        NEW_ITEM + "  status: cancelled\n  changes:\n    - date: 2026-11-21T10:00\n"
        '      note: "Cancelled: the trainers are ill."\n'
    )
    assert await service.store.reload("test")
    update = await delivered(world, "Update")
    assert update["id"] == create["id"] and "Cancelled" in update["content"]
    (world.folder / "items" / "fedify.yaml").write_text(
        NEW_ITEM + "  withdrawn:\n    date: 2026-11-21T11:00\n    reason: Published in error.\n"
    )
    assert await service.store.reload("test")
    delete = await delivered(world, "Delete")
    assert delete["id"] == create["id"]
    inbox = [e["status"] for e in world.peer.of_type("inbox")]
    assert inbox == [202] * 4, inbox  # Accept, Create, Update, Delete: each verified


@pytest.mark.parametrize("target", ["events"])
async def test_fedify_following_the_events_actor_gets_an_event_as_an_event(world: World):
    (followed,) = await world.peer.wait_for("followed")
    assert followed["topic"] == world.topic
    await delivered(world, "Accept")
    (world.folder / "items" / "fedify.yaml").write_text(NEW_ITEM)
    assert await world.service.store.reload("test")
    create = await delivered(world, "Create")
    assert create["actor"] == world.topic and create["kind"] == "Event"  # Fedify's own class
    assert create["id"].endswith("/ap/events/fedify-item")
    assert [e["status"] for e in world.peer.of_type("inbox")] == [202, 202]
