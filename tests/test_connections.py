"""Connections that do not send a whole request head in time are closed (slowloris), and
normal keep-alive use is untouched. Against a real `syndicate serve` on loopback, with
SYNDICATE_HEADER_TIMEOUT=1; bounded: a few sockets, under 10 s."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time

import pytest

from tests.conftest import CONTENT
from tests.live import live_server

TIMEOUT = 1  # SYNDICATE_HEADER_TIMEOUT for these tests
# The stats page's sign-in reads its body before it answers: a body that arrives slowly holds
# a handler waiting for it (POST /stats/sign-in).
READS_BODIES = {"SYNDICATE_ADMIN_PASSWORD": "a password for these tests"}
SIGN_IN = b"POST /stats/sign-in HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
BODY_LIMIT = 6.0  # a dripping body is closed within the header timeout and a sweep or two


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("connections")
    with live_server(CONTENT, folder / "log", SYNDICATE_HEADER_TIMEOUT=str(TIMEOUT),
                     **READS_BODIES, SYNDICATE_STATE_DIR=str(folder / "state")) as live:  # fmt: skip
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


# The connection bound (SYNDICATE_MAX_CONNECTIONS; by default the open-files limit).
BOUND = 40


def request_on(sock: socket.socket, path: str = "/healthz") -> bytes:
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    reply = b""
    while b"\r\n\r\n" not in reply or not reply.rstrip().endswith((b"}", b"\n")):
        chunk = sock.recv(65536)
        if not chunk:
            break
        reply += chunk
        if b'"status"' in reply or b"# TYPE" in reply:
            break
    return reply


def metric(url: str, name: str) -> float:
    import urllib.request

    with urllib.request.urlopen(url + "/metrics", timeout=5) as response:
        for line in response.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[-1])
    return 0.0


@pytest.fixture
def bounded(tmp_path):
    with live_server(
        CONTENT,
        tmp_path / "log",
        SYNDICATE_MAX_CONNECTIONS=str(BOUND),
        SYNDICATE_HEADER_TIMEOUT="30",
    ) as live:
        yield live


def test_near_the_bound_idle_keep_alive_connections_make_room_for_new_clients(bounded):
    idle = []
    try:
        for _ in range(BOUND + 10):  # readers that polled once and keep their connection
            sock = connect(bounded.url)
            assert request_on(sock).startswith(b"HTTP/1.1 200 ")
            idle.append(sock)
        with connect(bounded.url) as newcomer:  # a new client is answered at once
            assert request_on(newcomer).startswith(b"HTTP/1.1 200 ")
    finally:
        for sock in idle:
            sock.close()
    assert metric(bounded.url, 'syndicate_connections_closed_total{reason="idle-closed"}') > 0
    assert metric(bounded.url, "syndicate_connections_max") == BOUND
    log = bounded.log.read_text()
    assert "near the bound of 40" in log and "Traceback" not in log


def test_past_the_bound_with_nothing_idle_new_connections_are_refused_counted_and_logged(bounded):
    busy = [connect(bounded.url) for _ in range(BOUND + 5)]  # each owes a request head
    try:
        time.sleep(0.5)
        refused = 0
        for sock in busy[BOUND:]:
            sock.settimeout(2)
            try:
                refused += sock.recv(1) == b""
            except (ConnectionResetError, TimeoutError):
                refused += 1
        assert refused >= 1
    finally:
        for sock in busy:
            sock.close()
    time.sleep(0.3)
    assert metric(bounded.url, 'syndicate_connections_closed_total{reason="refused"}') >= 1
    log = bounded.log.read_text()
    assert log.count("near the bound of 40") == 1
    assert log.count("refusing new connections") == 1
    assert "Traceback" not in log


def test_serve_raises_its_open_files_limit_to_the_hard_limit():
    import resource

    from syndicate.web.connections import raise_open_files_limit

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard < 256:
        pytest.skip("needs a finite hard limit of at least 256")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard // 2, hard))
    try:
        assert raise_open_files_limit() == hard
        assert resource.getrlimit(resource.RLIMIT_NOFILE) == (hard, hard)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def rss_mb(pid: int) -> float:
    from pathlib import Path

    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) / 1024


def test_a_request_head_over_32_kb_is_answered_431_before_it_is_buffered(server):
    before = rss_mb(server.process.pid)
    for _ in range(20):  # 200 MB of head in all
        with connect(server.url) as sock:
            sock.settimeout(10)
            # (the server closes once it has answered: what follows is the reply)
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 10_000_000)
            reply = sock.recv(4096)
            assert reply.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")
            assert reply.endswith(b"over 32 KB.\n")
    assert rss_mb(server.process.pid) - before < 20  # was: each head kept whole for a while


def test_a_head_just_under_32_kb_in_many_small_reads_is_served(server):
    fields = "".join(f"X-Field-{n}: {'a' * 7900}\r\n" for n in range(4))
    head = f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n{fields}\r\n".encode()
    assert 31_000 < len(head) < 32 * 1024
    with connect(server.url) as sock:
        for start in range(0, len(head), 1000):  # the blank line arrives split over reads too
            sock.sendall(head[start : start + 1000])
            time.sleep(0.002)
        assert request_on_reply(sock).startswith(b"HTTP/1.1 200 ")


def request_on_reply(sock: socket.socket) -> bytes:
    reply = b""
    while b'"status"' not in reply:
        chunk = sock.recv(65536)
        if not chunk:
            break
        reply += chunk
    return reply


def replies(sock: socket.socket, count: int) -> list[bytes]:
    """The status lines of the next `count` replies on `sock` (each with Content-Length)."""
    data, lines = b"", []
    while len(lines) < count:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            assert chunk, f"closed after {lines}: {data[:200]!r}"
            data += chunk
        head, _, data = data.partition(b"\r\n\r\n")
        lines.append(head.split(b"\r\n", 1)[0])
        length = int(next(line.split(b":", 1)[1] for line in head.split(b"\r\n")[1:]
                          if line.lower().startswith(b"content-length:")))  # fmt: skip
        while len(data) < length:
            data += sock.recv(65536)
        data = data[length:]
    return lines


@pytest.mark.parametrize("size", [100_000, 300_000, 1_000_000])
def test_a_request_body_is_never_counted_as_head(server, size):
    """A POST body of any size the endpoints take (an activity: up to 1 MB) is a body, never
    a head over 32 KB: three requests on one connection, each answered for itself."""
    body = b"x" * size
    request = (f"POST /feed.atom HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {size}\r\n"
               "Content-Type: application/octet-stream\r\n\r\n").encode() + body  # fmt: skip
    with connect(server.url) as sock:
        sock.settimeout(10)
        for _ in range(3):
            for start in range(0, len(request), 16384):  # as a client's writes arrive
                sock.sendall(request[start : start + 16384])
            (status,) = replies(sock, 1)
            assert status.startswith(b"HTTP/1.1 405 "), status
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert replies(sock, 1)[0].startswith(b"HTTP/1.1 200 ")


def test_a_request_body_dripped_slowly_is_closed_by_its_deadline(server):
    """A body below the minimum rate (1 KB/s after the header timeout) is closed, as a head
    that drips is: a slow body holds a connection no longer than a slow head."""
    with connect(server.url) as sock:
        sock.sendall(SIGN_IN + f"Origin: {server.url}\r\nContent-Length: 1000\r\n\r\n".encode())
        took = closed_after(sock, drip=b"x" * 100, limit=BODY_LIMIT)
    assert took < BODY_LIMIT


async def test_slow_bodies_are_shed_before_new_clients_are_refused():
    """The connection layer itself (`connections.Server`, what `serve` runs), with a handler
    that reads its whole body before answering, as every endpoint that takes a POST does."""
    from aiohttp import web

    from syndicate.web.connections import SLOW_BODY, Server

    closed: list[str] = []

    async def handler(request: web.BaseRequest) -> web.Response:
        await request.read()
        return web.Response(text="ok")

    server = Server(handler, head_timeout=30, max_connections=BOUND, on_close=closed.append)
    runner = web.ServerRunner(server)
    await runner.setup()
    site = web.SockSite(runner, socket.create_server(("127.0.0.1", 0)))
    await site.start()
    port = site._sock.getsockname()[1]  # type: ignore[union-attr]
    slow = []
    try:
        for _ in range(BOUND + 5):  # each a POST whose body has barely begun
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nxxxxx")
            await writer.drain()
            slow.append(writer)
        await asyncio.sleep(0.3)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi")
        reply = await asyncio.wait_for(reader.read(64), 5)
        writer.close()
        assert reply.startswith(b"HTTP/1.1 200 "), reply
        assert SLOW_BODY in closed
    finally:
        for writer in slow:
            writer.close()
        await runner.cleanup()


def test_a_client_that_closes_mid_body_is_logged_as_no_error(server):
    with connect(server.url) as sock:
        sock.sendall(
            SIGN_IN + f"Origin: {server.url}\r\nContent-Length: 1000\r\n\r\npassword=".encode()
        )
        time.sleep(0.2)
    time.sleep(0.5)
    log = server.log.read_text()
    assert "Traceback" not in log and " ERROR " not in log, log[-3000:]
