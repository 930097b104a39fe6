"""`syndicate serve --workers N`: N processes on one port, agreeing on every byte.

Against a real pool on loopback (SYNDICATE_WORKERS=2 or 3). Which worker answered a
request is learnt by asking /healthz first on the same keep-alive connection (the kernel
gives a connection to one worker for its whole life). Bounded: a few hundred requests,
every wait under 20 s.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import CONTENT
from tests.live import LiveServer, live_pool


def connection(url: str) -> http.client.HTTPConnection:
    host, port = url.removeprefix("http://").split(":")
    return http.client.HTTPConnection(host, int(port), timeout=5)


def get(conn: http.client.HTTPConnection, path: str, **headers: str) -> http.client.HTTPResponse:
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    response.body = response.read()  # type: ignore[attr-defined]
    return response


def fetch_json(url: str, path: str) -> Any:
    conn = connection(url)
    try:
        return json.loads(get(conn, path).body)  # type: ignore[attr-defined]
    finally:
        conn.close()


def health(url: str) -> dict[str, Any]:
    return fetch_json(url, "/healthz")  # type: ignore[no-any-return]


def on_each_worker(
    url: str, count: int, ask: Callable[[http.client.HTTPConnection], Any]
) -> dict[int, Any]:
    """`ask(conn)` answered by each of `count` workers: new connections until every worker
    has had one (the kernel spreads connections by their addresses)."""
    answers: dict[int, Any] = {}
    for _ in range(200):
        conn = connection(url)
        try:
            index = json.loads(get(conn, "/healthz").body)["pool"]["answered_by"]["index"]  # type: ignore[attr-defined]
            if index not in answers:
                answers[index] = ask(conn)
        finally:
            conn.close()
        if len(answers) == count:
            return answers
    pytest.fail(f"only workers {sorted(answers)} of {count} answered 200 connections")


def wait_for(condition: Callable[[], Any], seconds: float = 20, what: str = "") -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            value = condition()
        except (OSError, http.client.HTTPException):  # a connection to a worker just killed
            value = None
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"not within {seconds} s: {what}")


@pytest.fixture
def content(tmp_path: Path) -> Path:
    folder = tmp_path / "content"
    shutil.copytree(CONTENT, folder)
    return folder


@pytest.fixture
def pool(content: Path, tmp_path: Path) -> Iterator[LiveServer]:
    with live_pool(content, tmp_path / "log", 2, SYNDICATE_WATCH="true") as live:
        yield live


def versions(url: str) -> set[str]:
    return {worker.get("version") for worker in health(url)["pool"]["workers"]}


def edit(content: Path) -> None:
    site = content / "site.yaml"
    site.write_text(site.read_text().replace("title: ", "title: Edited ", 1))


def test_two_workers_answer_on_one_port_and_healthz_says_which(pool: LiveServer):
    pids = on_each_worker(
        pool.url,
        2,
        lambda conn: json.loads(get(conn, "/healthz").body)["pool"]["answered_by"]["pid"],
    )  # type: ignore[attr-defined]
    assert len(set(pids.values())) == 2
    view = health(pool.url)
    assert view["status"] == "ok"
    listed = {w["index"]: w for w in view["pool"]["workers"]}
    assert set(listed) == {0, 1}
    assert {listed[i]["pid"] for i in listed} == set(pids.values())
    assert all(
        w["running"] and w["version"] == view["snapshot"]["version"] for w in listed.values()
    )


def test_every_worker_s_healthz_lists_every_worker_with_its_own_pid(pool: LiveServer):
    views = on_each_worker(pool.url, 2, lambda conn: json.loads(get(conn, "/healthz").body))  # type: ignore[attr-defined]
    pids = {index: view["pool"]["answered_by"]["pid"] for index, view in views.items()}
    assert len(set(pids.values())) == 2
    for index, view in views.items():  # as each worker reads the others' status files
        listed = {w["index"]: w for w in view["pool"]["workers"]}
        assert {i: w["pid"] for i, w in listed.items()} == pids, index
        assert all(w["running"] for w in listed.values()), index


def test_workers_agree_on_bytes_and_etags_of_every_representation(pool: LiveServer):
    feeds = fetch_json(pool.url, "/feeds.json")
    paths = sorted({urlsplit(feed["url"]).path for feed in feeds["feeds"]} | {"/", "/feeds.opml"})
    assert len(paths) > 20

    def fetch_all(
        conn: http.client.HTTPConnection,
    ) -> dict[str, tuple[bytes, str | None, str | None]]:
        found = {}
        for path in paths:
            for encoding in ("identity", "gzip"):
                response = get(conn, path, **{"Accept-Encoding": encoding})
                found[f"{path} {encoding}"] = (
                    response.body,
                    response.getheader("ETag"),
                    response.getheader("Last-Modified"),
                )  # type: ignore[attr-defined]
        return found

    answers = on_each_worker(pool.url, 2, fetch_all)
    assert answers[0] == answers[1]


def test_an_edit_reaches_every_worker(pool: LiveServer, content: Path):
    before = versions(pool.url)
    assert len(before) == 1
    edit(content)
    wait_for(
        lambda: len(now := versions(pool.url)) == 1 and now != before, what="all workers reload"
    )
    titles = on_each_worker(pool.url, 2, lambda conn: b"Edited " in get(conn, "/feed.atom").body)  # type: ignore[attr-defined]
    assert titles == {0: True, 1: True}


def test_sighup_to_the_pool_reloads_every_worker(content: Path, tmp_path: Path):
    with live_pool(content, tmp_path / "log", 2) as live:  # no watcher
        before = versions(live.url)
        edit(content)
        time.sleep(1.5)
        assert versions(live.url) == before
        live.process.send_signal(signal.SIGHUP)
        wait_for(
            lambda: len(now := versions(live.url)) == 1 and now != before, what="SIGHUP reload"
        )


def test_a_worker_that_dies_is_restarted_and_healthz_says_so_meanwhile(pool: LiveServer):
    workers = {w["index"]: w for w in health(pool.url)["pool"]["workers"]}
    os.kill(workers[1]["pid"], signal.SIGKILL)
    degraded = wait_for(
        lambda: (view := health(pool.url))["status"] == "degraded" and view, what="degraded"
    )
    assert "worker 1 is not running" in degraded["reasons"]

    def restarted() -> bool:
        view = health(pool.url)
        listed = {w["index"]: w for w in view["pool"]["workers"]}
        return (
            view["status"] == "ok"
            and listed[1]["running"]
            and listed[1]["pid"] != workers[1]["pid"]
        )

    wait_for(restarted, what="worker 1 restarted")
    assert health(pool.url)["pool"]["restarts"] == {"1": 1}
    assert "exited" in pool.log.read_text()


def test_a_worker_that_stops_answering_is_replaced_and_every_connection_answered_after(
    pool: LiveServer,
):
    workers = {w["index"]: w for w in health(pool.url)["pool"]["workers"]}
    stopped = workers[1]["pid"]
    os.kill(stopped, signal.SIGSTOP)  # alive, holding its socket, answering nothing
    try:

        def replaced() -> bool:
            listed = {w["index"]: w for w in health(pool.url)["pool"]["workers"]}
            return listed[1]["running"] and listed[1]["pid"] != stopped

        wait_for(replaced, seconds=20, what="the stopped worker replaced")
        assert gone(stopped)
        for _ in range(40):  # new connections, spread over both workers: each answered
            assert health(pool.url)["status"] in ("ok", "degraded")
        assert "stopped answering" in pool.log.read_text()
    finally:
        if not gone(stopped):
            os.kill(stopped, signal.SIGCONT)


def test_metrics_count_the_requests_of_every_worker(pool: LiveServer):
    for _ in range(30):
        conn = connection(pool.url)
        get(conn, "/feed.atom")
        conn.close()
    time.sleep(1.5)  # a heartbeat: each worker's counters reach the others

    def counted() -> float:
        conn = connection(pool.url)
        text = get(conn, "/metrics").body.decode()  # type: ignore[attr-defined]
        conn.close()
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith('syndicate_http_requests_total{route="feed",status="200"}'))  # fmt: skip

    assert counted() == 30


def test_sigterm_stops_every_worker(content: Path, tmp_path: Path):
    with live_pool(content, tmp_path / "log", 3) as live:
        pids = [w["pid"] for w in health(live.url)["pool"]["workers"]]
        live.process.send_signal(signal.SIGTERM)
        assert live.process.wait(timeout=20) == 0
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_invalid_content_stops_the_pool_before_any_worker_starts(content: Path, tmp_path: Path):
    import subprocess
    import sys

    (content / "site.yaml").write_text("site: [unclosed\n")
    result = subprocess.run(
        [sys.executable, "-m", "syndicate", "serve", "--workers", "2", "--port", "0", "--config", str(content)],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 1
    assert "site.yaml" in result.stderr


def gone(pid: int) -> bool:
    """The process has exited (a zombie waiting for a parent to reap it counts)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in status


def test_workers_stop_by_themselves_when_their_pool_is_killed(content: Path, tmp_path: Path):
    with live_pool(content, tmp_path / "log", 2) as live:
        pids = [w["pid"] for w in health(live.url)["pool"]["workers"]]
        live.process.kill()  # SIGKILL: the pool cannot stop them
        live.process.wait(timeout=10)
        wait_for(lambda: all(gone(pid) for pid in pids), what="orphaned workers stop")
    assert "the worker pool has gone: stopping" in (tmp_path / "log").read_text()


def test_a_worker_on_another_version_degrades_the_pool_only_after_a_minute(tmp_path: Path):
    from syndicate.settings import Settings
    from syndicate.web.board import DISAGREE_SECONDS, Board
    from syndicate.web.content import ContentStore
    from syndicate.web.member import Member
    from syndicate.web.metrics import Metrics
    from syndicate.web.supervise import Health

    metrics = Metrics()
    health = Health(metrics)
    store = ContentStore(Settings(config=CONTENT, watch=False, access_log=False), metrics, health)
    board = Board(Member(0, 2, tmp_path, os.getpid()), store, metrics, health)
    now = time.time()
    other = {"index": 1, "pid": os.getpid(), "version": "another", "built_at": now,
             "degraded": False, "heartbeat": now, "counts": {}}  # fmt: skip
    Member(1, 2, tmp_path, os.getpid()).write_status(other)
    assert board.view()[1] == []  # just reloaded: the other may be about to catch up
    long_ago = now - DISAGREE_SECONDS - 5
    store.built_at = long_ago
    Member(1, 2, tmp_path, os.getpid()).write_status({**other, "built_at": long_ago})
    own = store.snapshot.version
    assert board.view()[1] == [f"worker 1 serves version another, not {own}"]


def test_a_status_file_unreadable_for_a_moment_keeps_its_worker_in_the_view(tmp_path: Path):
    from syndicate.settings import Settings
    from syndicate.web.board import Board
    from syndicate.web.content import ContentStore
    from syndicate.web.member import Member
    from syndicate.web.metrics import Metrics
    from syndicate.web.supervise import Health

    metrics = Metrics()
    health = Health(metrics)
    store = ContentStore(Settings(config=CONTENT, watch=False, access_log=False), metrics, health)
    board = Board(Member(0, 2, tmp_path, os.getpid()), store, metrics, health)
    other = Member(1, 2, tmp_path, os.getpid())
    now = time.time()
    other.write_status({"index": 1, "pid": os.getpid(), "version": "v1", "built_at": now,
                        "degraded": False, "heartbeat": now, "counts": {}})  # fmt: skip
    assert board.view()[0]["workers"][1]["version"] == "v1"
    other.status_path().write_text('{"index": 1, "pid"')  # caught half-way
    pool, reasons = board.view()
    assert pool["workers"][1] == {
        "index": 1, "running": True, "pid": os.getpid(), "version": "v1", "status": "ok"
    }  # fmt: skip
    assert reasons == []
    other.status_path().unlink()
    assert board.view()[0]["workers"][1]["version"] == "v1"


def test_one_worker_s_broken_state_file_is_a_warning_not_the_end_of_the_pool(
    content: Path, tmp_path: Path
):
    state = tmp_path / "state"
    (state / "worker-1").mkdir(parents=True)
    (state / "worker-1" / "last-modified.json").write_text('{"version": 1, "paths": []}')
    with live_pool(content, tmp_path / "log", 2, SYNDICATE_STATE_DIR=str(state)) as live:
        view = health(live.url)
        assert [w["running"] for w in view["pool"]["workers"]] == [True, True]
        assert "ignoring" in live.log.read_text()


@pytest.mark.parametrize("planted", ["jinja2.py", "syndicate/__init__.py"])
def test_workers_import_only_the_installed_package_not_the_folder_serve_runs_in(
    content: Path, tmp_path: Path, planted: str
):
    # A module named like a dependency among the content, or a checkout's folder named like
    # the package above which `serve` is started: neither may be imported by a worker.
    marker = tmp_path / "imported"
    (content / planted).parent.mkdir(exist_ok=True)
    (content / planted).write_text(
        f"open({str(marker)!r}, 'w').write('imported')\nraise SystemExit(3)\n"
    )
    with live_pool(content, tmp_path / "log", 2, cwd=content) as live:
        view = health(live.url)
        assert [w["running"] for w in view["pool"]["workers"]] == [True, True]
    assert not marker.exists()


def test_the_pool_binds_a_port_whose_connections_are_still_in_time_wait():
    import socket

    from syndicate.web.pool import reserve

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = listener.accept()
    accepted.close()  # the server closes first: its end of the connection stays in TIME_WAIT
    client.recv(1)
    client.close()
    listener.close()
    reserve("127.0.0.1", port).close()  # as a restarted `serve --workers N` does at once


def test_every_worker_reports_the_websub_changes_the_pinging_worker_has_pending(tmp_path: Path):
    from syndicate.settings import Settings
    from syndicate.web.board import Board
    from syndicate.web.content import ContentStore
    from syndicate.web.member import Member
    from syndicate.web.metrics import Metrics
    from syndicate.web.supervise import Health

    boards = []
    for index in (0, 1):  # two workers of one pool, in one process
        metrics = Metrics()
        health = Health(metrics)
        settings = Settings(config=CONTENT, watch=False, access_log=False)
        store = ContentStore(settings, metrics, health)
        boards.append(Board(Member(index, 2, tmp_path, os.getpid()), store, metrics, health))
    boards[0].metrics.websub_pending = 7  # worker 0 pings: 7 changes not yet told
    boards[0].member.write_status(boards[0].status())
    for board in boards:
        text = board.metrics.exposition()[0].decode()
        assert "syndicate_websub_pending 7.0" in text, board.member.index


async def test_a_worker_s_status_is_on_file_before_it_takes_its_first_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import asyncio

    from syndicate.settings import Settings
    from syndicate.web import board, service
    from syndicate.web.member import Member
    from tests.live import free_port

    async def late_heartbeats(self, stop, pool_gone):  # type: ignore[no-untyped-def]
        await stop.wait()  # a loaded machine: the heartbeat task has not run yet

    monkeypatch.setattr(board.Board, "run", late_heartbeats)
    port = free_port()
    member = Member(0, 2, tmp_path, os.getpid())
    settings = Settings(config=CONTENT, port=port, watch=False, access_log=False)
    serving = asyncio.create_task(service.serve(settings, member))
    try:
        for _ in range(500):
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.01)
                continue
            writer.close()
            break
        else:
            pytest.fail("the worker never took a connection")
        status = json.loads(member.status_path().read_bytes())  # on file already
        assert status["pid"] == os.getpid() and status["version"]
    finally:
        serving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await serving


def test_only_the_lead_worker_writes_the_live_export(content: Path, tmp_path: Path):
    out = tmp_path / "out"
    with live_pool(content, tmp_path / "log", 2, SYNDICATE_EXPORT_DIR=str(out)) as live:
        wait_for(lambda: (out / ".syndicate-export.json").exists(), what="the export")
        time.sleep(0.5)
        exports = [line for line in live.log.read_text().splitlines() if "syndicate.export" in line]
    assert exports and all("[worker 0]" in line for line in exports)


def test_workers_share_the_days_salt_so_a_poller_is_one_poller_and_no_password_shows(
    content: Path, tmp_path: Path
):
    from syndicate.people import reach
    from syndicate.people.database import create_engine, database_url

    password = "the operators' password, in no process's arguments"
    state = tmp_path / "state"
    with live_pool(content, tmp_path / "log", 2, SYNDICATE_STATE_DIR=str(state),
                   SYNDICATE_ADMIN_PASSWORD=password) as live:  # fmt: skip
        workers = health(live.url)["pool"]["workers"]
        for pid in [live.process.pid] + [w["pid"] for w in workers]:
            arguments = Path(f"/proc/{pid}/cmdline").read_bytes()
            assert password.encode() not in arguments and b"smtp" not in arguments
        parts = urlsplit(live.url)
        answered_by = set()
        for _ in range(40):  # new connections: the kernel spreads them over both workers
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
            answered_by.add(json.loads(get(conn, "/healthz").body)["pool"]["answered_by"]["pid"])
            conn.request("GET", "/topics/harm-reduction/feed.atom", headers={
                "User-Agent": "newsboat/2.30.1 (Linux x86_64)", "X-Forwarded-For": "198.51.100.4"})  # fmt: skip
            response = conn.getresponse()  # on the same connection: the same worker
            response.read()
            assert response.status == 200
            conn.close()
        assert len(answered_by) == 2
        live.process.send_signal(signal.SIGTERM)  # each worker writes what it counted
        assert live.process.wait(timeout=20) == 0
    engine = create_engine(database_url(None, state))
    rows = [r for r in reach.rows(engine, date.min)
            if r.path == "/topics/harm-reduction/feed.atom"]  # fmt: skip
    engine.dispose()
    assert sum(r.value for r in rows if r.measure == "requests") == 40
    assert [(r.detail, r.value) for r in rows if r.measure == "pollers"] == [("newsboat", 1)]
