"""A real Postfix for the email tests (issue 29): an instance of its own (its own config, queue
and log folders, `postfix -c DIR start`), on loopback only, delivering nowhere but the tests'
own servers. Nothing can leave the machine: no relayhost, `default_transport = error`, and
only the domains the test names are routed, each to a local aiosmtpd.

Each scenario is a listener of its own (master.cf `-o` overrides), the way a relay is set up
wrong or strict in life:

    plain      accepts from loopback, relays to the routed domains (no login)
    auth       STARTTLS with a certificate of the tests' CA, AUTH (Dovecot SASL) only
               after TLS, relays only for a logged-in client ("Relay access denied" else)
    cleartext  AUTH offered without any TLS (a misconfigured relay, or STARTTLS stripped)
    sender     refuses our sender (check_sender_access: "Sender address rejected")
    size       message_size_limit of 4000 bytes
    content    a header_checks rule that rejects our subjects at the end of DATA (550 5.7.1)
    helo       wants a fully-qualified HELO (reject_non_fqdn_helo_hostname)

Postfix's master runs as root (as on Debian), its daemons as `postfix`; the tests run as
root in CI. Without the `postfix` program (make system-deps installs it), the tests skip,
or fail under CI=true.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.live import free_port

POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"
DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
USER, PASSWORD, REALM = "relay", "right-horse-battery", "relay.test"
SCENARIOS = ("plain", "auth", "cleartext", "sender", "size", "content", "helo")
# The daemons Postfix needs (after Debian's master.cf), none chrooted: the instance lives in
# a temporary folder, not under /var/spool/postfix.
SERVICES = """\
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
strict    unix  n       -       n       -       0       cleanup
  -o header_checks=$strict_header_checks
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


def available() -> bool:
    return Path(POSTFIX).is_file() and Path(DOVECOT).is_file() and os.geteuid() == 0


def require() -> None:
    """Skip (fail under CI) where a real Postfix cannot run."""
    if available():
        return
    reason = "Postfix is not installed, or the tests are not root (make system-deps)"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@dataclass
class Postfix:
    root: Path
    ports: dict[str, int] = field(default_factory=dict)
    ca_file: Path | None = None

    def url(self, scenario: str, password: str | None = None) -> str:
        login = f"{USER}:{password}@" if password is not None else ""
        return f"smtp://{login}127.0.0.1:{self.ports[scenario]}"

    def log(self) -> str:
        path = self.root / "maillog"
        return path.read_text(errors="replace") if path.exists() else ""


def _master_cf(ports: dict[str, int], cert: Path, key: Path, sasl: Path) -> str:
    tls = f"-o smtpd_tls_cert_file={cert} -o smtpd_tls_key_file={key}"
    auth = f"-o smtpd_sasl_auth_enable=yes -o smtpd_sasl_type=dovecot -o smtpd_sasl_path={sasl}"
    # Only a logged-in client may relay: "Relay access denied" to others, loopback included.
    logged_in = "-o smtpd_relay_restrictions=permit_sasl_authenticated,reject_unauth_destination"
    listeners = {
        "plain": "",
        "auth": f"-o smtpd_tls_security_level=may {tls} {auth} -o smtpd_tls_auth_only=yes "
        f"{logged_in}",
        "cleartext": f"-o smtpd_tls_security_level=none {auth} -o smtpd_tls_auth_only=no "
        f"{logged_in}",
        "sender": "-o smtpd_sender_restrictions=$strict_sender_restrictions",
        "size": "-o message_size_limit=4000",
        "content": "-o cleanup_service_name=strict",
        "helo": "-o smtpd_helo_required=yes "
        "-o smtpd_helo_restrictions=reject_invalid_helo_hostname,reject_non_fqdn_helo_hostname",
    }
    lines = [
        f"127.0.0.1:{ports[name]} inet n - n - - smtpd -o syslog_name=postfix/{name} {options}"
        for name, options in listeners.items()
    ]
    return "\n".join(lines) + "\n" + SERVICES


def _main_cf(root: Path, routes: dict[str, int]) -> str:
    transport = ", ".join(
        f"{domain}=smtp:[127.0.0.1]:{port}" for domain, port in sorted(routes.items())
    )
    return f"""\
compatibility_level = 3.6
queue_directory = {root}/queue
data_directory = {root}/data
mail_owner = postfix
setgid_group = postdrop
maillog_file = {root}/maillog
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = {REALM}
mydomain = {REALM}
myorigin = $myhostname
mydestination =
relayhost =
relay_domains =
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
alias_maps =
alias_database =
local_recipient_maps =
biff = no
smtputf8_enable = yes
default_transport = error:nothing leaves this machine in the tests
local_transport = error:no local delivery in the tests
transport_maps = inline:{{ {transport} }}
smtp_tls_security_level = none
# No idle connections kept to the tests' servers after a delivery (Postfix's cache would
# hold them past a test; the service's listener closes such connections itself when it
# stops: tests/test_email_returns.py).
smtp_connection_cache_on_demand = no
smtp_dns_support_level = disabled
smtpd_sasl_local_domain = {REALM}
# master.cf's -o values hold no spaces: the strict listeners name these.
strict_sender_restrictions = check_sender_access texthash:{root}/etc/senders
strict_header_checks = regexp:{root}/etc/header_checks
delay_warning_time = 0
smtpd_error_sleep_time = 0
bounce_queue_lifetime = 0
maximal_queue_lifetime = 1h
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
"""


@contextlib.contextmanager
def running_postfix(routes: dict[str, int], ca: object | None = None) -> Iterator[Postfix]:
    """Postfix with every scenario's listener, relaying `routes` (domain: the port of a local
    SMTP server) and nothing else. `ca`: a trustme CA for the `auth` listener's certificate
    (the CA's PEM is written to `ca_file`, for SYNDICATE_SMTP_CA_FILE). Logins are checked
    by a Dovecot auth service of its own (Postfix's usual SASL partner on Debian)."""
    require()
    import trustme

    authority = ca if ca is not None else trustme.CA()
    # Its own folder, readable by the postfix user (not under pytest's 0700 tmp).
    root = Path(tempfile.mkdtemp(prefix="syndicate-postfix-", dir="/var/tmp"))
    root.chmod(0o755)
    ports = {name: free_port() for name in SCENARIOS}
    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, root, True)
        etc, sasl = root / "etc", root / "sasl"
        for folder in (etc, sasl, root / "queue", root / "data"):
            folder.mkdir()
        postfix_user = pwd.getpwnam("postfix")
        os.chown(root / "data", postfix_user.pw_uid, postfix_user.pw_gid)
        cert = authority.issue_cert("127.0.0.1", REALM)  # type: ignore[attr-defined]
        cert_file, key_file, ca_file = root / "cert.pem", root / "key.pem", root / "ca.pem"
        cert.cert_chain_pems[0].write_to_path(str(cert_file))
        cert.private_key_pem.write_to_path(str(key_file))
        authority.cert_pem.write_to_path(str(ca_file))  # type: ignore[attr-defined]
        (etc / "main.cf").write_text(_main_cf(root, routes))
        (etc / "master.cf").write_text(_master_cf(ports, cert_file, key_file, sasl / "auth"))
        (etc / "senders").write_text("updates@example.org REJECT not owned by user\n")
        (etc / "header_checks").write_text("/^Subject:/ REJECT Message content rejected\n")
        _start_dovecot(sasl)
        masters = [sasl / "run" / "master.pid", root / "queue" / "pid" / "master.pid"]
        stack.callback(_stop, masters)  # both at once: each takes a second or two
        environment = {**os.environ, "MAIL_CONFIG": str(etc)}
        # `check` makes the queue's folders with Postfix's owners and modes.
        subprocess.run([POSTFIX, "-c", str(etc), "check"], env=environment, capture_output=True)
        started = subprocess.run(
            [POSTFIX, "-c", str(etc), "start"], env=environment, capture_output=True, text=True
        )
        running = Postfix(root, ports, ca_file)
        if started.returncode:
            raise RuntimeError(f"postfix start failed: {started.stderr}\n{running.log()}")
        _wait_for(ports.values(), running)
        yield running


def _start_dovecot(folder: Path) -> None:
    """Dovecot's auth service alone (no IMAP, no POP3), answering Postfix on `folder/auth`
    for one user, from a passwd-file."""
    (folder / "run").mkdir()
    (folder / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    (folder / "dovecot.conf").write_text(f"""\
base_dir = {folder}/run
state_dir = {folder}/run
log_path = {folder}/dovecot.log
protocols =
ssl = no
auth_mechanisms = plain login
disable_plaintext_auth = no
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%n {folder}/users
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home=/nonexistent
}}
service auth {{
  unix_listener {folder}/auth {{
    mode = 0660
    user = postfix
    group = postfix
  }}
}}
service anvil {{
  chroot =
}}
""")
    # It goes into the background by itself; its output to a file (a pipe would stay open).
    with (folder / "dovecot.out").open("w") as out:
        started = subprocess.run(
            [DOVECOT, "-c", str(folder / "dovecot.conf")], stdout=out, stderr=out, check=False
        )
    if started.returncode:
        raise RuntimeError(f"dovecot did not start: {(folder / 'dovecot.out').read_text()}")
    deadline = time.monotonic() + 10
    while not (folder / "auth").exists():
        if time.monotonic() > deadline:
            log = folder / "dovecot.log"
            raise RuntimeError(
                f"dovecot's auth did not listen: {log.read_text() if log.exists() else ''}"
            )
        time.sleep(0.05)


def _wait_for(ports: object, running: Postfix, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    for port in ports:  # type: ignore[attr-defined]
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"Postfix did not listen on {port}:\n{running.log()}")
            time.sleep(0.05)


def _stop(pid_files: list[Path]) -> None:
    """Stop the masters we started, by their pid files, and wait for them (their children
    follow)."""
    pids = []
    for pid_file in pid_files:
        with contextlib.suppress(OSError, ValueError, IndexError, ProcessLookupError):
            pid = int(pid_file.read_text().split()[0])
            os.kill(pid, signal.SIGTERM)
            pids.append(pid)
    deadline = time.monotonic() + 10
    while pids and time.monotonic() < deadline:
        pids = [pid for pid in pids if _alive(pid)]
        time.sleep(0.05)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
