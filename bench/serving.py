"""What `make bench` runs its servers and load with: free ports, start and stop, wrk, and
the nginx configurations (static files, and the caching tier `syndicate nginx-config` writes).

Every server listens on 127.0.0.1 and is stopped by its PID; every load is bounded in time.
"""

from __future__ import annotations

import json
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
SECONDS = int(os.environ.get("BENCH_SECONDS", "8"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "50"))

# nginx around an http-level include: static files, or the caching tier.
NGINX_MAIN = """
worker_processes 1;
daemon off;
{user}
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log {access_log};
    keepalive_requests 1000000;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    sendfile on;
    tcp_nopush on;
    include {include};
}}
"""
STATIC_SERVER = """
types {{
    application/atom+xml atom; application/rss+xml rss; application/feed+json json;
    text/html html; text/x-opml opml;
}}
charset utf-8;
charset_types application/atom+xml application/rss+xml application/feed+json;
gzip_static on;
etag on;
server {{
    listen 127.0.0.1:{port};
    root {root};
    add_header Cache-Control "public, max-age=300, stale-while-revalidate=60, stale-if-error=86400";
    add_header Vary Accept-Encoding;
}}
"""


def nginx_conf(folder: Path, include_text: str, access_log: str, first: str = "") -> Path:
    """Write nginx.conf (NGINX_MAIN around `include_text`, `first` before it) into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    include = folder / "include.conf"
    include.write_text(include_text)
    conf = folder / "nginx.conf"
    user = "user root;" if os.geteuid() == 0 else ""
    main = NGINX_MAIN.format(tmp=folder, include=include, user=user, access_log=access_log)
    conf.write_text(first + main)
    return conf


def nginx(folder: Path, include_text: str, access_log: str) -> subprocess.Popen[bytes]:
    """nginx (one worker, pinned to CPU 0) serving `include_text` from `folder`."""
    conf = nginx_conf(folder, include_text, access_log)
    with (folder / "stderr.log").open("wb") as stderr:
        return subprocess.Popen(["taskset", "-c", "0", "nginx", "-c", str(conf), "-p", str(folder)],
                                stdout=subprocess.DEVNULL, stderr=stderr)  # fmt: skip


def serve(
    name: str, port: int, tmp: Path, env: dict[str, str], *args: str, steady: bool = False
) -> subprocess.Popen[bytes]:
    """`syndicate serve` pinned to CPU 0. `steady`: with the same string hashes and memory
    layout every time (PYTHONHASHSEED=0, no address randomization), so that two servers
    compared differ only by what they are asked to do."""
    prefix = ["setarch", platform.machine(), "-R"] if steady else []
    with (tmp / f"{name}.log").open("wb") as log:
        return subprocess.Popen(
            [*prefix, "taskset", "-c", "0", PYTHON, "-m", "syndicate", "serve",
             "--config", "feeds_config", "--port", str(port), *args],
            cwd=ROOT, env={**os.environ, **env, **({"PYTHONHASHSEED": "0"} if steady else {})},
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip


def free_ports(count: int) -> list[int]:
    """Distinct free ports (held together while chosen, so they cannot repeat)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def wait_up(url: str, process: subprocess.Popen[bytes], name: str, log: Path) -> None:
    deadline = time.monotonic() + 20
    error: Exception | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError as problem:
            error = problem
            time.sleep(0.1)
    details = log.read_text(errors="replace")[-2000:] if log.exists() else ""
    sys.exit(f"{name} did not start ({error}):\n{details}")


def fetch(url: str, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.read(), dict(response.headers)


def wrk(url: str, headers: dict[str, str], script: Path | None = None) -> dict[str, float]:
    command = [
        "taskset",
        "-c",
        "1",
        "wrk",
        "-t1",
        f"-c{CONNECTIONS}",
        f"-d{SECONDS}s",
        "--latency",
        url,
    ]
    for name, value in headers.items():
        command[5:5] = ["-H", f"{name}: {value}"]
    if script is not None:
        command[5:5] = ["-s", str(script)]
    output = subprocess.run(
        command, capture_output=True, text=True, check=True, timeout=SECONDS + 30
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    codes = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    latency = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", output, re.M))
    return {"rps": rate, "p50": to_ms(latency["50"]), "p99": to_ms(latency["99"]),
            "errors": float(codes.group(1)) if codes else 0.0}  # fmt: skip


def to_ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


UNSHARED_HEADERS = {"date", "server", "content-length", "connection", "keep-alive"}


def reference_spec(url: str, folder: Path) -> Path:
    """What bench/bare.py answers with: the service's own body, gzip body and header fields
    for 200, 200 gzip, 304 and 304 gzip (less what aiohttp writes itself), in a JSON file."""
    spec: dict[str, object] = {}
    headers: dict[str, dict[str, str]] = {}
    for variant, encoding in (("200", "identity"), ("200 gzip", "gzip")):
        body, fields = fetch(url, {"Accept-Encoding": encoding})
        name = "gzip_body" if encoding == "gzip" else "body"
        (folder / name).write_bytes(body)
        spec[name] = str(folder / name)
        spec["gzip_etag" if encoding == "gzip" else "etag"] = fields["ETag"]
        headers[variant] = {k: v for k, v in fields.items() if k.lower() not in UNSHARED_HEADERS}
        request = urllib.request.Request(
            url, headers={"Accept-Encoding": encoding, "If-None-Match": fields["ETag"]}
        )
        try:
            urllib.request.urlopen(request, timeout=5)
            sys.exit(f"{url} did not answer 304 to its own ETag")
        except urllib.error.HTTPError as answer:
            not_modified = dict(answer.headers)
        headers[variant.replace("200", "304")] = {
            k: v for k, v in not_modified.items() if k.lower() not in UNSHARED_HEADERS
        }
    spec["headers"] = headers
    (folder / "reference.json").write_text(json.dumps(spec))
    return folder / "reference.json"


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
