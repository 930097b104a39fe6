"""`syndicate serve --workers N`: N processes serving one port, and the pool that keeps them.

Each worker is a whole `syndicate serve` of its own (its snapshot, watcher, timers), bound
to the same address with `SO_REUSEPORT`, so the kernel spreads connections over them and
no process hands requests to another. The same content gives the same bytes and ETags in
every worker (deterministic rendering), so they agree behind any balancer.

The pool (the parent process) binds the port first without listening (port 0 chooses one
for all), starts the workers, forwards SIGHUP, stops them all on SIGTERM/SIGINT (each
finishes its requests in flight), and restarts a worker that dies, with a backoff (1 s
doubling to 30 s), logged once per cause. A worker that served and then stops answering
(no heartbeat for `STALE_SECONDS`: stopped by SIGSTOP, stuck) is killed and so restarted:
its listening socket would otherwise keep taking the connections the kernel gives it. A
worker that exits before it ever served (the content is invalid, the port is taken) stops
the pool with its exit status, instead of being restarted forever.

Workers share what a person asks one of them (`/healthz`, `/metrics`) through a status
folder (`member.py`): `/healthz` lists every worker and says which one answered,
`/metrics` sums the counters of all. Only worker 0 pings WebSub hubs; each worker keeps its
own Last-Modified history (`state_dir/worker-{i}`). The service never imports this module.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, fields, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from syndicate.reach.salt import DailySalt
from syndicate.settings import Settings
from syndicate.web.member import POOL_FILE, STALE_SECONDS, Member, running

log = logging.getLogger("syndicate.workers")
FIRST_BACKOFF, MAX_BACKOFF = 1.0, 30.0
STABLE_SECONDS = 60.0  # a worker that ran this long and then died is a new fault: logged
WORKER_ENTRY = "from syndicate.web.pool import main; main()"
STOP_SECONDS = 15.0  # each worker's own shutdown takes at most 10 s


def reserve(host: str, port: int) -> socket.socket:
    """The pool's port: bound with SO_REUSEPORT and never listening, so it takes no
    connections but keeps the port (and chooses it, for port 0) while workers come and go."""
    family, _, _, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        # SO_REUSEADDR as the single process's socket.create_server sets it: a port whose
        # connections a stopped service left in TIME_WAIT can be bound again at once.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6 and hasattr(socket, "IPPROTO_IPV6"):
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(address[:2])
    except BaseException:
        sock.close()
        raise
    return sock


class Pool:
    """The workers of one `syndicate serve --workers N`."""

    def __init__(self, settings: Settings, folder: Path) -> None:
        self.settings = settings
        self.folder = folder
        self.processes: dict[int, subprocess.Popen[bytes]] = {}
        self.ready: set[int] = set()  # workers that have served (written a status)
        self.restart_at: dict[int, float] = {}
        self.backoff: dict[int, float] = {}
        self.restarts: dict[int, int] = {}
        self.started_at: dict[int, float] = {}
        # The reach salt's secret, the same for every worker (reach/salt.py); held from a
        # day before today in UTC, which is today or yesterday in any site's zone.
        self.salt = DailySalt()

    def start(self, index: int) -> None:
        member = Member(index, self.settings.workers, self.folder, os.getpid())
        seed, day = self.salt.seed(datetime.now(UTC).date() - timedelta(days=1))
        spec = {
            "settings": _settings_json(self.settings),
            "member": _member_json(member),
            "reach_seed": [seed.hex(), day.isoformat()],
        }
        # -P: nothing from the folder `serve` was started in is importable (`-c` would put it
        # first on the path: a jinja2.py among the content, or a checkout's folder named
        # like the package, would be imported instead of the installed package). The spec
        # goes through a pipe: it may hold passwords and the reach seed, which a process's
        # arguments would show to anyone listing processes.
        command = [sys.executable, "-P", "-c", WORKER_ENTRY]
        process = subprocess.Popen(command, stdin=subprocess.PIPE)
        assert process.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            process.stdin.write(json.dumps(spec).encode("utf-8"))
        with contextlib.suppress(BrokenPipeError):
            process.stdin.close()
        self.processes[index] = process
        self.started_at[index] = time.monotonic()

    def start_all(self) -> None:
        for index in range(self.settings.workers):
            self.start(index)

    def signal_all(self, signum: int) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signum)

    def step(self) -> int | None:
        """Notice exited workers and restart those due; an exit status when the pool must
        stop (a worker failed before it ever served)."""
        now = time.monotonic()
        self.salt.salt(datetime.now(UTC).date() - timedelta(days=1))  # forget a past day
        statuses = Member(0, self.settings.workers, self.folder, os.getpid()).statuses()
        for index, process in list(self.processes.items()):
            status = statuses.get(index)
            own = status is not None and status.get("pid") == process.pid
            if own:
                self.ready.add(index)
            code = process.poll()
            if code is None and own and not running(status, time.time()):
                log.error(
                    "worker %d (pid %d) stopped answering (no heartbeat for %.0f s): replacing it",
                    index, process.pid, STALE_SECONDS,
                )  # fmt: skip
                process.kill()  # SIGKILL: it works on a stopped process too
                code = process.wait()
            if code is None or index in self.restart_at:
                continue
            if index not in self.ready:
                log.error("worker %d exited (status %s) before serving: stopping", index, code)
                return code or 1
            if now - self.started_at.get(index, now) > STABLE_SECONDS:
                self.backoff.pop(index, None)  # it had been working: a new fault
            backoff = self.backoff.get(index, FIRST_BACKOFF)
            if backoff == FIRST_BACKOFF:
                log.error("worker %d exited (status %s): restarting it", index, code)
            else:
                log.debug("worker %d exited again (status %s)", index, code)
            self.restart_at[index] = now + backoff
            self.backoff[index] = min(backoff * 2, MAX_BACKOFF)
            self.restarts[index] = self.restarts.get(index, 0) + 1
            self._write_pool_status()
        for index, due in list(self.restart_at.items()):
            if due <= now:
                del self.restart_at[index]
                self.start(index)
        return None

    def _write_pool_status(self) -> None:
        path = self.folder / POOL_FILE
        with contextlib.suppress(OSError):
            path.write_text(json.dumps({"restarts": {str(i): n for i, n in self.restarts.items()}}))

    def stop(self) -> None:
        self.signal_all(signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def run_pool(settings: Settings) -> int:
    """Serve with `settings.workers` processes until SIGTERM or SIGINT; an exit status."""
    from syndicate.web.service import served_url

    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s[pool]: %(message)s"
    )
    sock = reserve(settings.host, settings.port)
    folder = Path(tempfile.mkdtemp(prefix="syndicate-workers-"))
    settings = replace(settings, port=sock.getsockname()[1], served_url=served_url(sock))
    pool = Pool(settings, folder)
    stop = False

    def on_stop(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    def on_hup(signum: int, frame: object) -> None:
        pool.signal_all(signal.SIGHUP)

    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    signal.signal(signal.SIGHUP, on_hup)
    log.info("starting %d workers on %s/", settings.workers, settings.served_url)
    code = 0
    try:
        pool.start_all()
        while not stop:
            failed = pool.step()
            if failed is not None:
                code = failed
                break
            time.sleep(0.1)
        log.info("stopping %d workers", settings.workers)
    finally:
        pool.stop()
        sock.close()
        shutil.rmtree(folder, ignore_errors=True)
    return code


def _settings_json(settings: Settings) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(settings).items()}


def _member_json(member: Member) -> dict[str, Any]:
    return {**asdict(member), "folder": str(member.folder)}


def _from_json(spec: dict[str, Any]) -> tuple[Settings, Member]:
    paths = {f.name for f in fields(Settings) if "Path" in str(f.type)}
    values: dict[str, Any] = {
        k: (Path(v) if k in paths and v is not None else v) for k, v in spec["settings"].items()
    }
    member = spec["member"]
    return Settings(**values), Member(
        member["index"], member["count"], Path(member["folder"]), member["parent"]
    )


def main() -> None:
    """A worker's entry point (`WORKER_ENTRY`, run by the pool with the spec on stdin)."""
    from syndicate.cli import refused
    from syndicate.people.errors import DatabaseUnavailable
    from syndicate.settings import SettingError
    from syndicate.web.service import run

    spec = json.loads(sys.stdin.read())
    settings, member = _from_json(spec)
    seed, day = spec["reach_seed"]
    try:
        run(settings, member, DailySalt(bytes.fromhex(seed), date.fromisoformat(day)))
    except (SettingError, DatabaseUnavailable, OSError) as error:  # one line, as `serve` says
        sys.exit(refused(error))
