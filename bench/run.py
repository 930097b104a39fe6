"""`make bench`: the service against nginx serving the same bytes, plus a large-content build.

1. Renders the sample with `syndicate build` for nginx, and starts the service on the same
   content, and a bare low-level aiohttp server (bench/bare.py) on the same bytes: all three
   answer with byte-identical bodies (checked before measuring).
2. Pins the service, nginx (one worker) and bare aiohttp to CPU 0 and wrk to CPU 1, and loads each in turn
   with three cases: 200, 200 gzip, 304 with the ETag. Prints req/s, p50, p99 and the
   ratios service/nginx and service/bare aiohttp (what the service adds over aiohttp's
   own ceiling on this machine).
3. Generates a large content folder (bench/generate.py: 10,000 items over 50 topics) and
   reports the load and render times of its first build, the cost of a one-item edit
   rebuilt as a reload does (the served snapshot alive and lending unchanged encodings),
   and the peak resident memory.

Everything runs on 127.0.0.1, each load lasts BENCH_SECONDS (default 8), and every process
started here is stopped by its PID. The whole run stays under two minutes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
SECONDS = int(os.environ.get("BENCH_SECONDS", "8"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "50"))
PATH = "/topics/harm-reduction/feed.atom"
TARGET_RATIO = 0.40

NGINX_CONF = """
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log {access_log};
    types {{
        application/atom+xml atom; application/rss+xml rss; application/feed+json json;
        text/html html; text/x-opml opml;
    }}
    charset utf-8;
    charset_types application/atom+xml application/rss+xml application/feed+json;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    gzip_static on;
    etag on;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        add_header Cache-Control "public, max-age=300, stale-while-revalidate=60, stale-if-error=86400";
        add_header Vary Accept-Encoding;
    }}
}}
"""


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


def wrk(url: str, headers: dict[str, str]) -> dict[str, float]:
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


def large_build(tmp: Path) -> dict[str, float]:
    """Build the large content in one fresh process as the service does on start, then
    edit one item's title (the newest item's: it is in the most feeds) and rebuild as the service does on
    reload: with the served snapshot alive and lending what did not change (the collector
    paused, as `syndicate.build` does)."""
    folder = tmp / "large"
    subprocess.run(
        [PYTHON, str(ROOT / "bench" / "generate.py"), str(folder)], check=True, capture_output=True
    )
    script = (
        "import json, resource, sys, time\n"
        "from pathlib import Path\n"
        "from syndicate.build import gc_paused\n"
        "from syndicate.loader import LoadCache, load_catalog\n"
        "from syndicate.snapshot import build_snapshot\n"
        "from datetime import UTC, datetime\n"
        "NOW = datetime.now(UTC)  # as serve builds: views and calendar windows as of now\n"
        "folder = Path(sys.argv[1])\n"
        "with gc_paused():\n"
        "    cache = LoadCache()  # as the service keeps it between reloads\n"
        "    t0 = time.perf_counter(); catalog = load_catalog(folder, NOW, cache); t1 = time.perf_counter()\n"
        "    served = build_snapshot(catalog, 300, NOW); t2 = time.perf_counter()\n"
        "newest = max(catalog.items, key=lambda item: item.published).id\n"
        "for path in (folder / 'items').iterdir():\n"
        "    text = path.read_text()\n"
        "    if f'id: {newest}\\n' in text:\n"
        "        at = text.index('  title: ', text.index(f'id: {newest}\\n')) + len('  title: ')\n"
        "        path.write_text(text[:at] + 'Edited ' + text[at:])\n"
        "with gc_paused():\n"
        "    t3 = time.perf_counter(); edited = load_catalog(folder, NOW, cache)\n"
        "    rebuilt = build_snapshot(edited, 300, NOW, served); t4 = time.perf_counter()\n"
        "changed = sum(rep.gzip_body is not served.representations.get(path, rep).gzip_body\n"
        "              for path, rep in rebuilt.representations.items())\n"
        "print(json.dumps({'load': t1 - t0, 'render': t2 - t1, 'edit': t4 - t3, 'changed': changed,\n"
        "    'representations': len(served.representations), 'items': len(catalog.items),\n"
        "    'rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))\n"
    )
    result = subprocess.run([PYTHON, "-c", script, str(folder)], check=True, capture_output=True, text=True,
                            cwd=ROOT, timeout=120)  # fmt: skip
    return json.loads(result.stdout)


BENCH_PUBLIC_URL = "https://feeds.example.org"


def main() -> None:
    for program in ("nginx", "wrk", "taskset"):
        if shutil.which(program) is None:
            sys.exit(f"{program} is not installed: run `make system-deps` (apt-get) first")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="syndicate-bench-") as name:
        tmp = Path(name)
        tmp.chmod(0o755)  # nginx's worker runs as another user when started as root
        out = tmp / "static"
        # One public URL for both, so nginx's files and the service's bytes are the same.
        subprocess.run([PYTHON, "-m", "syndicate", "build", "--config", "feeds_config",
                        "--public-url", BENCH_PUBLIC_URL, str(out)],
                       check=True, cwd=ROOT, capture_output=True)  # fmt: skip
        service_port, nginx_port, bare_port = free_ports(3)
        access_log = os.environ.get("BENCH_ACCESS_LOG", "true")
        env = {**os.environ, "SYNDICATE_WATCH": "false", "SYNDICATE_ACCESS_LOG": access_log,
               "SYNDICATE_PUBLIC_URL": BENCH_PUBLIC_URL}  # fmt: skip
        service_log = (tmp / "service.log").open("wb")
        service = subprocess.Popen(
            ["taskset", "-c", "0", PYTHON, "-m", "syndicate", "serve", "--config", "feeds_config",
             "--port", str(service_port)],
            cwd=ROOT, env=env, stdout=service_log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        conf = tmp / "nginx.conf"
        conf.write_text(NGINX_CONF.format(tmp=tmp, port=nginx_port, root=out,
                                          access_log=f"{tmp}/nginx-access.log" if access_log == "true" else "off"))  # fmt: skip
        nginx = subprocess.Popen(["taskset", "-c", "0", "nginx", "-c", str(conf), "-p", str(tmp)],
                                 stdout=subprocess.DEVNULL, stderr=(tmp / "nginx-stderr.log").open("wb"))  # fmt: skip
        bare = subprocess.Popen(["taskset", "-c", "0", PYTHON, str(ROOT / "bench" / "bare.py"), str(bare_port),
                                 str(out / PATH.lstrip("/"))], stdout=subprocess.DEVNULL,
                                stderr=(tmp / "bare.log").open("wb"))  # fmt: skip
        try:
            servers = {
                "service": f"http://127.0.0.1:{service_port}",
                "nginx": f"http://127.0.0.1:{nginx_port}",
                "aiohttp": f"http://127.0.0.1:{bare_port}",
            }
            wait_up(servers["service"] + "/healthz", service, "service", tmp / "service.log")
            wait_up(servers["nginx"] + PATH, nginx, "nginx", tmp / "nginx-error.log")
            wait_up(servers["aiohttp"] + PATH, bare, "bare aiohttp", tmp / "bare.log")
            bodies = {
                name: fetch(url + PATH, {"Accept-Encoding": "identity"})
                for name, url in servers.items()
            }
            if not bodies["service"][0] == bodies["nginx"][0] == bodies["aiohttp"][0]:
                sys.exit("the service, nginx and bare aiohttp do not serve the same bytes")
            results: dict[str, dict[str, dict[str, float]]] = {}
            for case in ("200", "200 gzip", "304"):
                results[case] = {}
                for name, url in servers.items():
                    headers = {"Accept-Encoding": "gzip"} if case == "200 gzip" else {}
                    if case == "304":
                        headers = {"If-None-Match": bodies[name][1]["ETag"]}
                    results[case][name] = wrk(url + PATH, headers)
        finally:
            stop(service)
            stop(nginx)
            stop(bare)
            service_log.close()
        print(f"\nsyndicate vs nginx, GET {PATH} ({len(bodies['nginx'][0])} bytes), one core each, "
              f"wrk -t1 -c{CONNECTIONS} -d{SECONDS}s on another core, access logs {'on' if access_log == 'true' else 'off'}\n")  # fmt: skip
        print(
            f"{'case':<10} {'service req/s':>14} {'p50 ms':>8} {'p99 ms':>8}   {'nginx req/s':>12} {'p50 ms':>8} {'p99 ms':>8}   {'ratio':>6}   {'aiohttp req/s':>12} {'ratio':>6}"
        )
        worst = 1.0
        for case, pair in results.items():
            s, n, a = pair["service"], pair["nginx"], pair["aiohttp"]
            ratio = s["rps"] / n["rps"]
            worst = min(worst, ratio)
            flag = "" if ratio >= TARGET_RATIO else f"  below the {TARGET_RATIO:.2f} target"
            errors = (
                ""
                if not (s["errors"] or n["errors"])
                else f"  (non-2xx/3xx: {s['errors']:.0f}/{n['errors']:.0f})"
            )
            print(f"{case:<10} {s['rps']:>14,.0f} {s['p50']:>8.2f} {s['p99']:>8.2f}   {n['rps']:>12,.0f} "
                  f"{n['p50']:>8.2f} {n['p99']:>8.2f}   {ratio:>6.2f}   {a['rps']:>12,.0f} "
                  f"{s['rps'] / a['rps']:>6.2f}{flag}{errors}")  # fmt: skip
        large = large_build(tmp)
        build = large["load"] + large["render"]
        print(f"\nlarge content: {large['items']:.0f} items, 50 topics, {large['representations']:.0f} representations: "
              f"build {build:.2f} s (load {large['load']:.2f} s + render {large['render']:.2f} s), "
              f"one-item edit {large['edit']:.2f} s (load and render; {large['changed']:.0f} representations changed), "
              f"peak RSS {large['rss_mb']:.0f} MB with two snapshots alive (targets: < 2 s, < 200 MB)")  # fmt: skip
        print(
            f"\nbench took {time.monotonic() - started:.0f} s; lowest ratio {worst:.2f} (target {TARGET_RATIO:.2f})"
        )


if __name__ == "__main__":
    main()
