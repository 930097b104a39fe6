"""Starting the service: state that just works, and every refusal one line naming the setting.

- `make run` keeps its state in `.state` (or `SYNDICATE_STATE_DIR`): the stats page, email,
  the fediverse and reach work with no other setting.
- Under systemd, `StateDirectory=` sets `$STATE_DIRECTORY`, the default state folder.
- A feature that needs a database, with neither a state folder nor a database URL; a state
  folder that cannot be made; a database that cannot be reached; the fediverse on an http
  public URL: each ends `serve` with one line on stderr naming the setting, never a traceback.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from syndicate.settings import SettingError, Settings
from tests.conftest import CONTENT
from tests.live import free_port, live_server

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery staple"


def serve(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`syndicate serve` on a free port with `env`, from a folder of its own; it must end
    by itself (a refusal) within the timeout."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATE_")}
    clean.pop("STATE_DIRECTORY", None)
    return subprocess.run(
        [sys.executable, "-P", "-m", "syndicate", "serve", "--config", str(CONTENT)],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
        env={**clean, "PYTHONPATH": str(ROOT), "SYNDICATE_PORT": str(free_port()),
             "SYNDICATE_WATCH": "false", **env},
    )  # fmt: skip


def refusal(result: subprocess.CompletedProcess[str]) -> str:
    """The one line a refused start printed (asserting that it is one, and no traceback)."""
    assert result.returncode in (1, 2), result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if " INFO " not in line]
    lines = [line for line in lines if line.startswith("syndicate: ")]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("env", "feature"),
    [
        ({"SYNDICATE_ADMIN_PASSWORD": PASSWORD}, "SYNDICATE_ADMIN_PASSWORD"),
        ({"SYNDICATE_FEDIVERSE": "true"}, "SYNDICATE_FEDIVERSE"),
        ({"SYNDICATE_REACH": "true"}, "SYNDICATE_REACH"),
        (
            {"SYNDICATE_SMTP_URL": "smtp://127.0.0.1:1", "SYNDICATE_MAIL_FROM": "a@example.org"},
            "SYNDICATE_SMTP_URL",
        ),
    ],
    ids=["stats", "fediverse", "reach", "email"],
)
def test_a_feature_that_needs_a_database_without_one_is_one_line_naming_both_ways(
    tmp_path, env, feature
):
    line = refusal(serve(tmp_path, **env))
    assert feature in line
    assert "SYNDICATE_STATE_DIR" in line and "SYNDICATE_DATABASE_URL" in line
    assert list(tmp_path.iterdir()) == []  # nothing written where it was started


def test_a_state_folder_that_cannot_be_made_is_one_line_naming_it(tmp_path):
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    line = refusal(serve(tmp_path, SYNDICATE_REACH="true", SYNDICATE_STATE_DIR="a-file/state"))
    assert "SYNDICATE_STATE_DIR=a-file/state" in line


def test_a_database_that_cannot_be_reached_is_one_line_without_its_password(tmp_path):
    with __import__("socket").socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        port = closed.getsockname()[1]
        url = f"postgresql://syndicate:hunter2-secret@127.0.0.1:{port}/feeds"
        for workers in ("1", "2"):
            result = serve(
                tmp_path, SYNDICATE_REACH="true", SYNDICATE_DATABASE_URL=url,
                SYNDICATE_WORKERS=workers,
            )  # fmt: skip
            line = refusal(result)
            assert "database" in line and "SYNDICATE_DATABASE_URL" in line
            assert "hunter2" not in result.stderr


def test_the_fediverse_on_an_http_public_url_is_refused_naming_the_setting(tmp_path):
    result = serve(
        tmp_path, SYNDICATE_FEDIVERSE="true", SYNDICATE_STATE_DIR="state",
        SYNDICATE_PUBLIC_URL="http://feeds.example.org",
    )  # fmt: skip
    line = refusal(result)
    assert "SYNDICATE_PUBLIC_URL" in line and "https" in line


def test_the_fediverse_on_this_machine_s_own_http_address_starts_with_a_warning(tmp_path):
    with live_server(
        CONTENT, tmp_path / "log", cwd=tmp_path, SYNDICATE_FEDIVERSE="true",
        SYNDICATE_STATE_DIR=str(tmp_path / "state"),
    ) as live:  # fmt: skip
        nodeinfo = urllib.request.urlopen(f"{live.url}/.well-known/nodeinfo", timeout=5)
        assert nodeinfo.status == 200  # the fediverse is on
        nodeinfo.close()
    log = live.log.read_text()
    assert "WARNING" in log and "not https" in log


def test_systemd_s_state_directory_is_the_default_state_folder(tmp_path):
    settings = Settings.from_env({"STATE_DIRECTORY": f"{tmp_path}/a:{tmp_path}/b"})
    assert settings.state_dir == tmp_path / "a"


def test_syndicate_state_dir_wins_over_systemd_s(tmp_path):
    settings = Settings.from_env(
        {"STATE_DIRECTORY": str(tmp_path / "a"), "SYNDICATE_STATE_DIR": str(tmp_path / "c")}
    )
    assert settings.state_dir == tmp_path / "c"


def test_a_preview_needs_no_state(tmp_path):
    Settings(admin_password=PASSWORD, reach=True, preview=True).check_startup()


def test_check_startup_refuses_email_without_a_database():
    with pytest.raises(SettingError, match="email updates"):
        Settings(smtp_url="smtp://127.0.0.1:1", mail_from="a@example.org").check_startup()


def test_make_run_with_an_operator_s_password_serves_the_stats_page(tmp_path):
    """docs/reach.md gives `SYNDICATE_ADMIN_PASSWORD='...' make run`: it starts, with its
    state where `STATE` says (`.state` by default)."""
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATE_")}
    state = tmp_path / "state"
    with (tmp_path / "log").open("wb") as log:
        process = subprocess.Popen(
            ["make", "--no-print-directory", "run", f"STATE={state}"],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log,
            env={**clean, "SYNDICATE_ADMIN_PASSWORD": PASSWORD, "SYNDICATE_PORT": str(port),
                 "SYNDICATE_WATCH": "false"},
            start_new_session=True,  # make and the service it starts: stopped by group
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/stats/sign-in", timeout=1
                ) as response:
                    assert b'type="password"' in response.read()  # the sign-in form
                break
            except urllib.error.HTTPError as error:
                pytest.fail(f"/stats/sign-in answered {error.code}")
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail((tmp_path / "log").read_text())
                time.sleep(0.2)
        assert (state / "syndicate.sqlite3").is_file()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
