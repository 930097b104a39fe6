"""Real nginx on loopback, for the caching tier and the static export.

`running_nginx(include, folder)` writes the smallest main configuration around `include`
(a file meant for nginx's http block, used as it is), starts nginx in the foreground and
stops it by PID. Every path nginx writes (pid, logs, temporary files) is under `folder`.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.live import need, stop

MAIN = """daemon off;
worker_processes 1;
{user}
pid {tmp}/nginx.pid;
error_log {tmp}/error.log info;
events {{ worker_connections 256; }}
http {{
    access_log {tmp}/access.log;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {include};
}}
"""


STOCK = Path("/etc/nginx")  # Debian's own configuration, as apt-get installs it


def stock_copy(tmp: Path, port: int) -> Path:
    """Debian's /etc/nginx copied under `tmp`, its runtime paths moved there too."""
    if not (STOCK / "nginx.conf").exists() or not (STOCK / "sites-enabled" / "default").exists():
        message = "Debian's stock /etc/nginx is not installed (apt-get install nginx-light)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    etc = tmp / "etc" / "nginx"
    shutil.copytree(STOCK, etc, symlinks=False)
    conf = (etc / "nginx.conf").read_text()
    assert "user www-data;" in conf  # kept: the workers run as Debian runs them
    conf = conf.replace("/etc/nginx", str(etc))
    conf = re.sub(r"(?m)^pid .*$", f"pid {tmp}/nginx.pid;", conf)
    conf = re.sub(r"(?m)^(\s*)error_log .*$", rf"\1error_log {tmp}/error.log;", conf)
    conf = re.sub(r"(?m)^(\s*)access_log .*$", rf"\1access_log {tmp}/access.log;", conf)
    temporary = "".join(
        f"\t{kind}_temp_path {tmp}/{kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = conf.replace("http {\n", "http {\n" + temporary, 1)
    (etc / "nginx.conf").write_text(conf)
    default = etc / "sites-enabled" / "default"
    site = default.read_text()
    site = re.sub(r"(?m)^\s*listen \[::\]:80 default_server;\n", "", site)
    site = site.replace("listen 80 default_server;", f"listen 127.0.0.1:{port} default_server;")
    default.write_text(site)
    return etc


# As Debian runs them: nginx's workers as www-data; the service as a user of its own (not
# root, not nginx's), here `nobody`, as systemd's DynamicUser= would give it one.
NGINX_USER = "www-data"
SERVICE_USER = "nobody"


@contextmanager
def reachable_folder(prefix: str) -> Iterator[Path]:
    """A folder, removed afterwards, that nginx's workers and the service's user can reach
    (pytest's own folders are 0700 root): under /var/tmp, mode 0755."""
    with tempfile.TemporaryDirectory(prefix=prefix, dir="/var/tmp") as name:
        folder = Path(name)
        folder.chmod(0o755)
        yield folder


@contextmanager
def running_nginx(
    include: Path, folder: Path, port: int, workers_as: str = NGINX_USER
) -> Iterator[str]:
    """nginx serving `include` (which listens on 127.0.0.1:`port`); yields its URL. When the
    tests run as root, nginx runs as Debian runs it: the master as root, the workers as
    `workers_as` (www-data), so every file they serve must be readable by others, every
    folder on the way to it searchable, and a cache folder theirs."""
    nginx = need("nginx")
    folder.mkdir(parents=True, exist_ok=True)
    user = f"user {workers_as};" if os.geteuid() == 0 else ""
    conf = folder / "nginx.conf"
    conf.write_text(MAIN.format(user=user, tmp=folder, include=include))
    test = subprocess.run(
        [nginx, "-t", "-c", str(conf), "-p", str(folder)], capture_output=True, text=True
    )
    assert test.returncode == 0, test.stderr
    with (folder / "stderr.log").open("wb") as stderr:
        process = subprocess.Popen([nginx, "-c", str(conf), "-p", str(folder)],
                                   stdout=subprocess.DEVNULL, stderr=stderr)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:  # any answer (a redirect to https too) says nginx is up
                probe = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                probe.request("GET", "/nginx-ready-probe")
                probe.getresponse().read()
                probe.close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("nginx did not start:\n" + (folder / "error.log").read_text())
                time.sleep(0.05)
        yield url
    finally:
        stop(process, signal.SIGQUIT)  # graceful


def self_signed(folder: Path, host: str) -> tuple[Path, Path]:
    """A certificate for `host` and 127.0.0.1, signed by its own key, and that key: what
    certbot would write, for a test on loopback. Clients trust the certificate itself."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(host), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    chain, secret = folder / "fullchain.pem", folder / "privkey.pem"
    chain.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    secret.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    secret.chmod(0o600)
    return chain, secret
