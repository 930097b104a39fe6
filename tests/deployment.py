"""The deployment's systemd unit, read and run as systemd would, on a machine without systemd
running (the tests' container): `systemd-analyze verify` checks the file; `run_unit` starts its
`ExecStart=` as systemd's exec does it for this unit.

What systemd does for `deploy/syndicate.service`, and so what `run_unit` does (systemd.exec(5)):
- `Environment=` (space-separated assignments) then `EnvironmentFile=` (KEY=VALUE lines,
  `#` comments) make the environment, with nothing inherited but what systemd passes itself;
- `DynamicUser=yes`: a user of its own, neither root nor nginx's: here `nobody`;
- `StateDirectory=syndicate`: a folder owned by that user, passed as `$STATE_DIRECTORY`;
- `UMask=`: the process's umask; `ExecReload=`: SIGHUP; stopping: SIGTERM, then SIGKILL
  after `TimeoutStopSec=`.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.live import ROOT, need, owned_by, unprivileged
from tests.nginx import SERVICE_USER

UNIT = ROOT / "deploy" / "syndicate.service"
ENVIRONMENT = ROOT / "deploy" / "syndicate.env"


def unit_entries(text: str) -> dict[str, list[tuple[str, str]]]:
    """Each section's `(key, value)` assignments, in order (a key may repeat)."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ";")):
            continue
        if stripped.startswith("["):
            current = stripped.strip("[]")
            sections.setdefault(current, [])
            continue
        key, _, value = stripped.partition("=")
        sections[current].append((key.strip(), value.strip()))
    return sections


def service_value(text: str, key: str) -> str:
    """The last value of `key` in [Service] (what systemd takes for a single-valued key)."""
    values = [v for k, v in unit_entries(text)["Service"] if k == key]
    assert values, f"the unit has no {key}="
    return values[-1]


def environment_file(path: Path) -> dict[str, str]:
    """An EnvironmentFile=: KEY=VALUE lines; blank lines and `#` comments ignored."""
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def verify(unit: Path) -> subprocess.CompletedProcess[str]:
    """`systemd-analyze verify` on `unit` (its ExecStart= must name a program that exists)."""
    analyze = need("systemd-analyze")
    return subprocess.run(
        [analyze, "verify", "--man=no", str(unit)], capture_output=True, text=True, timeout=60
    )


@dataclass
class Running:
    process: subprocess.Popen[bytes]
    url: str
    state: Path
    log: Path


@contextmanager
def run_unit(unit_text: str, folder: Path, port: int) -> Iterator[Running]:
    """`ExecStart=` of `unit_text` (its paths already those of this machine), started as
    systemd starts it, with `SYNDICATE_PORT` its `Environment=` gives replaced by `port`;
    stopped with SIGTERM as `systemctl stop` does. Yields once /healthz answers."""
    entries = unit_entries(unit_text)["Service"]
    environment = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                   "LANG": "C.UTF-8"}  # fmt: skip
    for key, value in entries:
        if key == "Environment":
            environment.update(part.split("=", 1) for part in shlex.split(value))
    for key, value in entries:
        if key == "EnvironmentFile":
            environment.update(environment_file(Path(value.removeprefix("-"))))
    environment["SYNDICATE_PORT"] = str(port)
    assert service_value(unit_text, "DynamicUser") == "yes"
    state = owned_by(folder / "var" / "lib" / service_value(unit_text, "StateDirectory"),
                     SERVICE_USER)  # fmt: skip
    state.chmod(int(service_value(unit_text, "StateDirectoryMode"), 8))
    environment["STATE_DIRECTORY"] = str(state)
    umask = int(service_value(unit_text, "UMask"), 8)
    log = folder / "service.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            shlex.split(service_value(unit_text, "ExecStart")), env=environment, cwd="/",
            stdout=output, stderr=subprocess.STDOUT, umask=umask,
            **unprivileged(SERVICE_USER),
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{url}/healthz", timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the unit's service did not start:\n{log.read_text()}")
                time.sleep(0.1)
        yield Running(process, url, state, log)
    except BaseException:
        print(log.read_text())  # shown with the failure
        raise
    finally:
        stop_as_systemd(process, unit_text)


def stop_as_systemd(process: subprocess.Popen[bytes], unit_text: str) -> float:
    """SIGTERM, then SIGKILL after TimeoutStopSec=; the seconds the process took to stop."""
    if process.poll() is not None:
        return 0.0
    timeout = float(re.sub(r"s$", "", service_value(unit_text, "TimeoutStopSec")))
    began = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
    return time.monotonic() - began


def installed(unit_text: str, program: Path, config: Path, env_file: Path) -> str:
    """The unit with its paths moved to this machine's: the program, content and settings."""
    assert os.access(program, os.X_OK), program
    return (
        unit_text.replace("/opt/syndicate/bin/syndicate", str(program))
        .replace("/srv/syndicate/feeds_config", str(config))
        .replace("/etc/syndicate/syndicate.env", str(env_file))
    )
