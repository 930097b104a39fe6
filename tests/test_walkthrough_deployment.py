"""docs/deployment.md's "From a fresh Debian machine to feeds over https", run command by
command as written.

Only what a test must not touch on this machine is moved, each in `Walk.command`:
- every absolute path the recipe names goes under a temporary folder (`/etc/nginx` is a
  copy of Debian's stock one, its workers still `www-data`); the checkout is this one, its
  content the tests' own;
- the ports: 8080, 80 and 443 become free ones on 127.0.0.1, and the paths moved, in the unit
  and in the nginx configuration the recipe generates (after it generates them);
- `apt-get install` is checked (every package there but certbot is installed) rather than run;
  `python3` is Debian's /usr/bin/python3, which `python3` is on Debian;
- `systemctl` does what systemd would: `enable --now syndicate` runs the installed unit as
  tests/deployment.py runs it; `reload nginx` starts nginx the first time (master as root,
  workers as www-data) and reloads it after;
- certbot is replaced by what it does: Let's Encrypt fetches a token from the webroot over
  http, through nginx (the test does the same), then certbot writes a certificate for the name
  where it keeps them (here a self-signed one, which the last `curl` is told to trust).
"""

from __future__ import annotations

import re
import shlex
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import CONTENT
from tests.deployment import run_unit
from tests.live import ROOT, free_port, need, stop
from tests.nginx import reachable_folder, self_signed, stock_copy

HOST = "feeds.example.org"
MOVED = ("/opt/syndicate", "/srv/syndicate", "/etc/syndicate", "/etc/systemd",
         "/var/cache/nginx", "/var/www/letsencrypt", "/etc/letsencrypt")  # fmt: skip


def recipe() -> list[str]:
    text = (ROOT / "docs" / "deployment.md").read_text()
    block = re.search(r"```sh\n# recipe: fresh Debian to https\n(.*?)```", text, re.S)
    assert block, "docs/deployment.md has no fresh Debian recipe block"
    return [line for line in block.group(1).replace("\\\n", " ").splitlines() if line.strip()]


@dataclass
class Walk:
    prefix: Path
    etc_nginx: Path
    ports: dict[str, int]
    held: ExitStack
    nginx: subprocess.Popen[bytes] | None = None
    done: list[str] = field(default_factory=list)

    def moved(self, text: str) -> str:
        """`text` with the recipe's paths moved (those already moved stay as they are)."""
        text = text.replace("/usr/local/src/syndicate/feeds_config", str(CONTENT))
        text = text.replace("/usr/local/src/syndicate", str(ROOT))
        for path in (*MOVED, "/etc/nginx"):
            target = str(self.etc_nginx) if path == "/etc/nginx" else f"{self.prefix}{path}"
            text = re.sub(rf"(?<!{re.escape(str(self.prefix))}){re.escape(path)}", target, text)
        return text

    def command(self, line: str) -> None:
        words = shlex.split(line)
        if words[:2] == ["apt-get", "install"]:
            for package in (w for w in words[2:] if not w.startswith("-")):
                if package == "certbot":
                    continue  # replaced below by what it does
                package = (
                    "nginx-light" if package == "nginx" and not installed("nginx") else package
                )
                assert installed(package), f"{package} is not installed"
        elif words[:2] == ["systemctl", "daemon-reload"]:
            pass
        elif words[:2] == ["systemctl", "enable"]:
            assert words[2:] == ["--now", "syndicate"], line
            unit = (self.prefix / "etc/systemd/system/syndicate.service").read_text()
            unit = unit.replace("SYNDICATE_PORT=8080", f"SYNDICATE_PORT={self.ports['service']}")
            self.held.enter_context(run_unit(unit, self.prefix, self.ports["service"]))
        elif words[:3] == ["systemctl", "reload", "nginx"]:
            self.reload_nginx()
        elif words[0] == "certbot":
            self.certbot(words)
        else:
            self.shell(line)
        self.done.append(line)

    def shell(self, line: str) -> None:
        line = self.moved(line)
        line = re.sub(r"^python3 ", "/usr/bin/python3 ", line)
        line = line.replace("127.0.0.1:8080", f"127.0.0.1:{self.ports['service']}")
        if line.startswith("nginx "):
            line = f"{need('nginx')} -c {self.etc_nginx}/nginx.conf {line[6:]}"
        if line.startswith("curl ") and f"https://{HOST}" in line:
            chain = self.prefix / f"etc/letsencrypt/live/{HOST}/fullchain.pem"
            line = (f"curl --resolve {HOST}:{self.ports['https']}:127.0.0.1 --cacert {chain} "
                    + line[5:].replace(f"https://{HOST}/", f"https://{HOST}:{self.ports['https']}/"))  # fmt: skip
        done = subprocess.run(line, shell=True, capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, f"{line}\n{done.stdout}{done.stderr}"
        if "nginx-config" in line:
            self.move_nginx_ports(Path(line.rsplit(">", 1)[1].strip()))
        if "syndicate.service" in line and line.startswith("install "):
            unit = self.prefix / "etc/systemd/system/syndicate.service"
            unit.write_text(self.moved(unit.read_text()))

    def move_nginx_ports(self, conf: Path) -> None:
        """The generated configuration with its ports, and the paths it names, moved."""
        text = self.moved(conf.read_text())
        text = text.replace("listen 80;", f"listen 127.0.0.1:{self.ports['http']};")
        text = text.replace("listen 443 ssl;", f"listen 127.0.0.1:{self.ports['https']} ssl;")
        text = text.replace("server 127.0.0.1:8080 ", f"server 127.0.0.1:{self.ports['service']} ")
        conf.write_text(text)

    def reload_nginx(self) -> None:
        nginx = need("nginx")
        conf = str(self.etc_nginx / "nginx.conf")
        if self.nginx is None:
            self.nginx = subprocess.Popen([nginx, "-c", conf, "-g", "daemon off;"],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
            self.held.callback(stop, self.nginx, 3)  # SIGQUIT: graceful
        else:
            subprocess.run([nginx, "-c", conf, "-s", "reload"], check=True, timeout=30)
        time.sleep(0.5)  # the new workers take the listening sockets

    def certbot(self, words: list[str]) -> None:
        assert words[1:2] == ["certonly"] and "--webroot" in words, words
        webroot = Path(self.moved(words[words.index("-w") + 1]))
        name = words[words.index("-d") + 1]
        challenge = webroot / ".well-known" / "acme-challenge"
        challenge.mkdir(parents=True, exist_ok=True)
        for folder in (webroot / ".well-known", challenge):
            folder.chmod(0o755)
        (challenge / "token-1").write_text("token-1.thumbprint")
        (challenge / "token-1").chmod(0o644)
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.ports['http']}/.well-known/acme-challenge/token-1",
            headers={"Host": name},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # Let's Encrypt's check
            assert response.read() == b"token-1.thumbprint"
        self_signed(self.prefix / f"etc/letsencrypt/live/{name}", name)


def installed(package: str) -> bool:
    status = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package],
                            capture_output=True, text=True)  # fmt: skip
    return status.returncode == 0 and "install ok installed" in status.stdout


@pytest.fixture
def walk() -> Iterator[Walk]:
    need("nginx")
    need("systemd-analyze")
    need("curl")
    with reachable_folder("syndicate-walk-") as prefix, ExitStack() as held:
        ports = {"service": free_port(), "http": free_port(), "https": free_port()}
        etc = stock_copy(prefix, ports["http"])
        for there in ("etc/systemd/system", "opt", "srv", "var/cache", "var/www"):
            (prefix / there).mkdir(parents=True, mode=0o755)  # as on a fresh Debian
        yield Walk(prefix, etc, ports, held)


def test_the_fresh_debian_recipe_serves_feeds_over_https_as_written(walk: Walk):
    for line in recipe():
        walk.command(line)
    assert walk.done == recipe()
    # What the last curl fetched, looked at once more: the service's feed, over https.
    chain = walk.prefix / f"etc/letsencrypt/live/{HOST}/fullchain.pem"
    fetched = subprocess.run(
        ["curl", "-fsS", "-D", "-", "--resolve", f"{HOST}:{walk.ports['https']}:127.0.0.1",
         "--cacert", str(chain), f"https://{HOST}:{walk.ports['https']}/feed.atom"],
        capture_output=True, text=True, check=True, timeout=30,
    ).stdout  # fmt: skip
    head, _, body = fetched.partition("\n\n")  # text mode: the CRLFs read as newlines
    assert "strict-transport-security: max-age=31536000" in head.lower()
    assert "<feed" in body and f"https://{HOST}/feed.atom" in body
