"""What counting reach costs serving: the same service with SYNDICATE_REACH on and off, each
on CPU 0, wrk on CPU 1, for GET /topics/harm-reduction/feed.atom as 200 and as 304.

Clients vary as pollers do: wrk's script sends each request with one of five readers'
User-Agents (two hosted readers) and one of 2,000 X-Forwarded-For addresses (the service
trusts loopback as its proxy): a thousand pollers, each polling again and again, as a busy
feed has.

What is measured is a few percent, less than the noise of a plain A/B run here: two servers
started alike differed by up to 3% (hash seeds, memory layout), and 8-second runs of one
server by up to 10% (the machine's other tenants). So both servers run with the same hash
seed and no address randomization (`serving.serve(steady=True)`), and each round starts a
fresh pair and loads them in turn, `TURNS` times 2 seconds each (which goes first
alternates), so that a slow moment of the machine falls on both. A round's ratio is on /
off over its turns; the result is the median of the rounds' ratios, with each round's. The
measure that decides is the servers' CPU time per answer (the scheduler's nanoseconds,
/proc/PID/schedstat, over a round's turns): counting on less counting off, the median over
rounds, must be at most 1.5 µs. A ratio of throughputs cannot see 1.5 µs in a 100 µs answer
through 2-3% of noise; CPU time per answer does not depend on how busy the machine's other
tenants keep wrk. Prints JSON. About four minutes.
BENCH_REACH_CALIBRATE=1 runs the same with counting off in both servers: the bench's own
bias, against which a ratio is read.

    BENCH_REACH_ROUNDS=4 python bench/reach_counting.py
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from serving import CONNECTIONS, fetch, free_ports, serve, stop, wait_up

PATH = "/topics/harm-reduction/feed.atom"
ROUNDS = int(os.environ.get("BENCH_REACH_ROUNDS", "4"))
TURNS, TURN_SECONDS = 6, 2
COUNTING = "false" if os.environ.get("BENCH_REACH_CALIBRATE") else "true"  # in the "on" server
# Pollers: wrk picks an address and a reader for each request.
SCRIPT = """
local agents = {
  "newsboat/2.30.1 (Linux x86_64)",
  "Mozilla/5.0 (compatible; Miniflux/2.0.51; +https://miniflux.app)",
  "FreshRSS/1.23.1 (Linux; https://freshrss.org)",
  "Feedly/1.0 (+http://www.feedly.com/fetcher.html; 16 subscribers; like FeedFetcher-Google)",
  "Mozilla/5.0 (compatible; inoreader.com; 3 subscribers)",
}
local n = 0
request = function()
  n = n + 1
  wrk.headers["User-Agent"] = agents[(n % #agents) + 1]
  wrk.headers["X-Forwarded-For"] = "10.0." .. (n % 8) .. "." .. (n % 250)
  return wrk.format(nil)
end
"""
CASES = ("200", "304")


def cpu_seconds(pid: int) -> float:
    """CPU time of process `pid` so far: the scheduler's nanoseconds where the kernel keeps
    them (/proc/PID/schedstat), else user and system time in clock ticks (10 ms, too coarse
    for a turn's fraction of a microsecond per answer)."""
    schedstat = Path(f"/proc/{pid}/schedstat")
    if schedstat.exists():
        return int(schedstat.read_text().split()[0]) / 1e9
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load(url: str, headers: dict[str, str], script: Path, pid: int) -> tuple[float, float, int]:
    """wrk on CPU 1 against `url`: req/s, the server's CPU seconds, and its answers."""
    command = ["taskset", "-c", "1", "wrk", "-t1", f"-c{CONNECTIONS}", f"-d{TURN_SECONDS}s",
               "-s", str(script)]  # fmt: skip
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    before = cpu_seconds(pid)
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True,
                            timeout=TURN_SECONDS + 30).stdout  # fmt: skip
    used = cpu_seconds(pid) - before
    answers = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    return rate, used, answers


def one_round(tmp: Path, script: Path, turn: int) -> dict[str, dict[str, tuple[float, float]]]:
    """A fresh pair of servers, each loaded with both cases: {case: {which: (rps, µs)}},
    µs the server's CPU time per answer over all its turns."""
    ports = dict(zip(("off", "on"), free_ports(2), strict=True))
    env = {"SYNDICATE_WATCH": "false", "SYNDICATE_ACCESS_LOG": "false",
           "SYNDICATE_PUBLIC_URL": "https://feeds.example.org"}  # fmt: skip
    processes = {
        "off": serve("off", ports["off"], tmp, {**env, "SYNDICATE_REACH": "false"}, steady=True),
        "on": serve("on", ports["on"], tmp, {**env, "SYNDICATE_REACH": COUNTING,
                                              "SYNDICATE_STATE_DIR": str(tmp / f"state{turn}")},
                    steady=True),
    }  # fmt: skip
    try:
        for which, process in processes.items():
            wait_up(f"http://127.0.0.1:{ports[which]}/healthz", process, which,
                    tmp / f"{which}.log")  # fmt: skip
        etag = fetch(f"http://127.0.0.1:{ports['off']}{PATH}", {})[1]["ETag"]
        found: dict[str, dict[str, tuple[float, float]]] = {}
        for case, headers in zip(CASES, ({}, {"If-None-Match": etag}), strict=True):
            runs: dict[str, list[tuple[float, float, int]]] = {"off": [], "on": []}
            for step in range(TURNS):
                for which in ("off", "on") if (turn + step) % 2 == 0 else ("on", "off"):
                    url = f"http://127.0.0.1:{ports[which]}{PATH}"
                    runs[which].append(load(url, headers, script, processes[which].pid))
            found[case] = {
                which: (statistics.fmean(rps for rps, _, _ in done),
                        sum(cpu for _, cpu, _ in done) / sum(n for _, _, n in done) * 1e6)
                for which, done in runs.items()
            }  # fmt: skip
        return found
    finally:
        for process in processes.values():
            stop(process)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="syndicate-reach-bench-") as name:
        tmp = Path(name)
        script = tmp / "pollers.lua"
        script.write_text(SCRIPT)
        rounds = [one_round(tmp, script, turn) for turn in range(ROUNDS)]
    result: dict[str, dict[str, object]] = {}
    for case in CASES:
        pairs = [found[case] for found in rounds]
        ratios = [pair["on"][0] / pair["off"][0] for pair in pairs]
        result[case] = {
            "ratio": round(statistics.median(ratios), 3),
            "ratios": [round(ratio, 3) for ratio in ratios],
            "off_rps": round(statistics.median(pair["off"][0] for pair in pairs)),
            "on_rps": round(statistics.median(pair["on"][0] for pair in pairs)),
            "cpu_us_per_answer": {
                which: round(statistics.median(pair[which][1] for pair in pairs), 2)
                for which in ("off", "on")
            },
            # What counting adds: on minus off in each round (a pair started alike and
            # loaded in turn), the median over rounds. Target: at most 1.5 µs.
            "cpu_us_added": round(
                statistics.median(pair["on"][1] - pair["off"][1] for pair in pairs), 2
            ),
            "cpu_us_added_by_round": [round(pair["on"][1] - pair["off"][1], 2) for pair in pairs],
        }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
