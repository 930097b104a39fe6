"""`make bench-nginx-hit`: where a cache hit's time goes, against a static file, in nginx.

`make bench` measures nginx's cache hits at about 0.8x nginx serving the same bytes as a
static file. This counts CPU instructions per request in nginx itself (valgrind's callgrind:
the same counts whatever else the machine is doing) for both, and splits the difference
by nginx function: a hit reads the entry's stored response head and parses it again
(`ngx_http_parse_header_line`, once per header line) and scans its Cache-Control value for
each directive nginx knows (`ngx_strlcasestrn`); a static file's header fields come from
the configuration, already parsed.

Each nginx (one process, `master_process off`) answers GET PATH on one keep-alive
connection, FEW then MANY times; instructions per request are the difference divided by
MANY - FEW, so start-up and shutdown cancel out. Everything runs on 127.0.0.1 and every
process started here is stopped by its PID. About a minute.
"""

from __future__ import annotations

import http.client
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from serving import PYTHON, ROOT, free_ports, nginx_conf, serve, stop, wait_up

PATH = "/topics/harm-reduction/feed.atom"
PUBLIC_URL = "https://feeds.example.org"
FEW, MANY = 100, 1100
# nginx functions whose own instructions the split reports.
PARSE, SCAN = "ngx_http_parse_header_line", "ngx_strlcasestrn"


def under_callgrind(folder: Path, include: str, port: int, requests: int) -> Path:
    """Run nginx with `include` under callgrind for `requests` GETs; its profile."""
    conf = nginx_conf(folder, include, "off", first="master_process off;\n")
    profile = folder / "callgrind.out"
    with (folder / "valgrind.log").open("wb") as log:
        process = subprocess.Popen(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={profile}",
             "nginx", "-c", str(conf), "-p", str(folder)],
            stdout=subprocess.DEVNULL, stderr=log,
        )  # fmt: skip
    try:
        wait_up(f"http://127.0.0.1:{port}{PATH}", process, "nginx", folder / "valgrind.log")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for _ in range(requests):
            connection.request("GET", PATH, headers={"Accept-Encoding": "identity"})
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                sys.exit(f"nginx answered {response.status}")
        connection.close()
        process.send_signal(signal.SIGQUIT)  # nginx finishes; callgrind writes the profile
        process.wait(timeout=60)
    finally:
        stop(process)
    return profile


def counts(profile: Path) -> dict[str, int]:
    """Total instructions, and the instructions spent in PARSE and SCAN themselves."""
    total = re.search(r"^(?:summary|totals): (\d+)", profile.read_text(), re.M)
    annotated = subprocess.run(
        ["callgrind_annotate", "--threshold=100", str(profile)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    found = {"total": int(total.group(1)) if total else 0}
    for name in (PARSE, SCAN):
        match = re.search(rf"^\s*([\d,]+) .*:{name} \[", annotated, re.M)
        found[name] = int(match.group(1).replace(",", "")) if match else 0
    return found


def per_request(folder: Path, include: str, port: int) -> dict[str, float]:
    few = counts(under_callgrind(folder / f"{FEW}", include, port, FEW))
    many = counts(under_callgrind(folder / f"{MANY}", include, port, MANY))
    return {name: (many[name] - few[name]) / (MANY - FEW) for name in many}


def main() -> None:
    for program in ("nginx", "valgrind", "callgrind_annotate"):
        if shutil.which(program) is None:
            sys.exit(f"{program} is not installed: run `make system-deps` (apt-get) first")
    with tempfile.TemporaryDirectory(prefix="syndicate-nginx-hit-") as name:
        tmp = Path(name)
        service_port, static_port, cache_port = free_ports(3)
        out = tmp / "static"
        subprocess.run([PYTHON, "-m", "syndicate", "build", "--config", "feeds_config", "--public-url",
                        PUBLIC_URL, "--nginx-listen", f"127.0.0.1:{static_port}", str(out)],
                       check=True, cwd=ROOT, capture_output=True)  # fmt: skip
        env = {"SYNDICATE_WATCH": "false", "SYNDICATE_PUBLIC_URL": PUBLIC_URL,
               "SYNDICATE_ACCESS_LOG": "false"}  # fmt: skip
        service = serve("service", service_port, tmp, env)
        try:
            wait_up(
                f"http://127.0.0.1:{service_port}/healthz", service, "service", tmp / "service.log"
            )
            tier = subprocess.run(
                [PYTHON, "-m", "syndicate", "nginx-config", "--upstream", f"127.0.0.1:{service_port}",
                 "--listen", f"127.0.0.1:{cache_port}", "--cache-dir", str(tmp / "cache")],
                check=True, cwd=ROOT, capture_output=True, text=True).stdout  # fmt: skip
            static = per_request(
                tmp / "nginx-static", (out / "_nginx.conf").read_text(), static_port
            )
            cached = per_request(tmp / "nginx-cache", tier, cache_port)
        finally:
            stop(service)

    extra = cached["total"] - static["total"]
    print(f"\nnginx instructions per GET {PATH} (identity), callgrind, {MANY - FEW} requests\n")
    print(f"{'':<52}{'static':>10}{'cache hit':>12}")
    for label, key in (
        ("all of nginx", "total"),
        (f"  parsing header lines ({PARSE})", PARSE),
        (f"  scanning Cache-Control ({SCAN})", SCAN),
    ):
        print(f"{label:<52}{static[key]:>10,.0f}{cached[key]:>12,.0f}")
    print(
        f"\na hit costs {cached['total'] / static['total']:.2f}x a static file's instructions; "
        f"of the {extra:,.0f} more, {(cached[PARSE] - static[PARSE]) / extra:.0%} parse the "
        f"stored response head again and {(cached[SCAN] - static[SCAN]) / extra:.0%} scan "
        "its Cache-Control; a hit also reads that head from the entry (one pread more)"
    )


if __name__ == "__main__":
    main()
