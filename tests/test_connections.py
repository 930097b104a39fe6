"""Connections that do not send a whole request head in time are closed (slowloris), and
normal keep-alive use is untouched. Against a real `syndicate serve` on loopback, with
SYNDICATE_HEADER_TIMEOUT=1; bounded: a few sockets, under 10 s."""

from __future__ import annotations

import socket
import time

import pytest

from tests.conftest import CONTENT
from tests.live import live_server

TIMEOUT = 1  # SYNDICATE_HEADER_TIMEOUT for these tests


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    log = tmp_path_factory.mktemp("connections") / "log"
    with live_server(CONTENT, log, SYNDICATE_HEADER_TIMEOUT=str(TIMEOUT)) as live:
        yield live


def connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=5)
    return sock


def closed_after(sock: socket.socket, drip: bytes = b"", limit: float = 5.0) -> float:
    """Seconds until the server closes `sock`, sending one byte of `drip` every 0.2 s."""
    started = time.monotonic()
    sock.setblocking(False)
    sent = 0
    while time.monotonic() - started < limit:
        if sent < len(drip):
            try:
                sock.send(drip[sent : sent + 1])
                sent += 1
            except (BrokenPipeError, ConnectionResetError):
                return time.monotonic() - started
        try:
            if sock.recv(65536) == b"":
                return time.monotonic() - started
        except BlockingIOError:
            pass
        except ConnectionResetError:
            return time.monotonic() - started
        time.sleep(0.2)
    pytest.fail(f"still open after {limit} s")


def test_a_connection_that_sends_nothing_is_closed_after_the_header_timeout(server):
    with connect(server.url) as sock:
        assert TIMEOUT - 0.1 <= closed_after(sock) <= TIMEOUT + 1


def test_a_request_head_dripped_a_byte_at_a_time_is_closed_after_the_header_timeout(server):
    head = b"GET /feed.atom HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 200
    with connect(server.url) as sock:
        assert TIMEOUT - 0.1 <= closed_after(sock, head) <= TIMEOUT + 1


def test_keep_alive_requests_spaced_wider_than_the_header_timeout_still_work(server):
    """The deadline runs per head, from its first byte: idle time between requests is the
    keep-alive's business (75 s), not the head timeout's."""
    request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    with connect(server.url) as sock:
        for _ in range(2):
            sock.sendall(request)
            reply = b""
            while b'"status"' not in reply:
                reply += sock.recv(65536)
            assert reply.startswith(b"HTTP/1.1 200 ")
            time.sleep(TIMEOUT + 0.5)  # idle, between requests


def test_fifty_dripping_connections_are_all_closed_and_requests_are_served_meanwhile(server):
    import urllib.request

    socks = [connect(server.url) for _ in range(50)]
    try:
        for sock in socks:
            sock.sendall(b"GET / HTTP/1.1\r\n")
            sock.setblocking(False)
        with urllib.request.urlopen(server.url + "/feed.atom", timeout=5) as response:
            assert response.status == 200
        started, open_ = time.monotonic(), set(range(50))
        while open_ and time.monotonic() - started < TIMEOUT + 2:
            for index in list(open_):
                try:
                    socks[index].send(b"X")  # a byte at a time, never a whole head
                    if socks[index].recv(1024) == b"":
                        open_.discard(index)
                except BlockingIOError:
                    pass
                except (BrokenPipeError, ConnectionResetError):
                    open_.discard(index)
            time.sleep(0.2)
        assert open_ == set(), f"{len(open_)} of 50 still open"
    finally:
        for sock in socks:
            sock.close()
