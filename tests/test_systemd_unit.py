"""deploy/syndicate.service: a unit systemd accepts, that runs the service as a user of its own
with its state in systemd's state folder, its settings from the environment file, reloaded
and stopped as systemd does it (tests/deployment.py says how, from systemd.exec(5)).
"""

from __future__ import annotations

import re
import signal
import sqlite3
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from syndicate.settings import SETTINGS
from tests.conftest import CONTENT
from tests.deployment import (
    ENVIRONMENT,
    UNIT,
    environment_file,
    installed,
    run_unit,
    service_value,
    stop_as_systemd,
    unit_entries,
    verify,
)  # fmt: skip
from tests.live import DEPLOY_PYTHON, free_port, python_for
from tests.nginx import SERVICE_USER, reachable_folder

PASSWORD = "an operators' long password"


@pytest.fixture
def folder() -> Iterator[Path]:
    with reachable_folder("syndicate-unit-") as made:
        yield made


def unit_here(folder: Path, **settings: str) -> str:
    """The unit, its paths moved to this machine: the deployment's program, the tests'
    content, an environment file of the example's values and `settings`."""
    python_for(SERVICE_USER)  # the deployment's Python is there (or the test skips)
    env_file = folder / "syndicate.env"
    values = {**environment_file(ENVIRONMENT), **settings}
    env_file.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    env_file.chmod(0o600)  # root's: systemd reads it before the service's user exists
    text = installed(UNIT.read_text(), DEPLOY_PYTHON.parent / "syndicate", CONTENT, env_file)
    (folder / "syndicate.service").write_text(text)
    return text


def test_systemd_analyze_verify_accepts_the_unit(folder: Path):
    unit_here(folder)
    checked = verify(folder / "syndicate.service")
    assert checked.returncode == 0, checked.stderr
    assert "syndicate.service" not in checked.stderr, checked.stderr  # no warning about it


def test_systemd_analyze_verify_would_see_a_mistake(folder: Path):
    text = unit_here(folder).replace("ExecStart=/", "ExecStart=relative/")
    (folder / "syndicate.service").write_text(text)
    assert verify(folder / "syndicate.service").returncode != 0


@pytest.mark.parametrize(
    ("key", "value"),
    [("DynamicUser", "yes"), ("StateDirectory", "syndicate"), ("Restart", "on-failure"),
     ("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"), ("PrivateTmp", "yes"),
     ("ProtectHome", "yes"), ("CapabilityBoundingSet", ""), ("UMask", "0022")],
)  # fmt: skip
def test_the_unit_runs_unprivileged_and_hardened(key: str, value: str):
    assert service_value(UNIT.read_text(), key) == value


def test_the_unit_reads_its_secrets_from_an_environment_file():
    entries = dict(unit_entries(UNIT.read_text())["Service"])
    assert entries["EnvironmentFile"] == "/etc/syndicate/syndicate.env"
    assert "PASSWORD" not in UNIT.read_text()  # never in the unit, which anyone may read


def test_the_example_environment_names_only_settings_that_exist():
    known = {setting.env for setting in SETTINGS}
    lines = ENVIRONMENT.read_text().splitlines()
    named = {line.lstrip("#").split("=", 1)[0] for line in lines if "=" in line and
             line.lstrip("#").startswith("SYNDICATE_")}  # fmt: skip
    assert named and named <= known, named - known


def test_the_service_runs_as_its_own_user_with_its_database_in_the_state_directory(
    folder: Path,
):
    text = unit_here(folder, SYNDICATE_ADMIN_PASSWORD=PASSWORD,
                     SYNDICATE_PUBLIC_URL="https://feeds.example.org")  # fmt: skip
    with run_unit(text, folder, free_port()) as service:
        status = Path(f"/proc/{service.process.pid}/status").read_text()
        uid = int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])
        assert uid != 0 and uid == __import__("pwd").getpwnam(SERVICE_USER).pw_uid
        with urllib.request.urlopen(f"{service.url}/stats/sign-in", timeout=5) as page:
            assert page.status == 200  # the stats page, with no state setting but systemd's
        database = service.state / "syndicate.sqlite3"
        assert database.stat().st_uid == uid
        with sqlite3.connect(database) as connection:
            assert connection.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)
        with urllib.request.urlopen(f"{service.url}/feed.atom", timeout=5) as feed:
            assert b"https://feeds.example.org/feed.atom" in feed.read()  # from the env file


def reloads(url: str) -> float:
    """Reloads that succeeded, from /metrics."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as response:
        text = response.read().decode()
    found = re.search(r'^syndicate_reloads_total\{result="ok"\} (\S+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


def test_exec_reload_reloads_and_a_stop_ends_cleanly_within_the_timeout(folder: Path):
    text = unit_here(folder)
    with run_unit(text, folder, free_port()) as service:
        before = reloads(service.url)
        assert service_value(text, "ExecReload") == "/bin/kill -HUP $MAINPID"
        service.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while reloads(service.url) == before:
            assert time.monotonic() < deadline, service.log.read_text()
            time.sleep(0.1)
        took = stop_as_systemd(service.process, text)
        assert service.process.returncode == 0  # Restart=on-failure: not restarted
        assert took < float(service_value(text, "TimeoutStopSec").rstrip("s"))
