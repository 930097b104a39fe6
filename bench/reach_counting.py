"""What counting reach costs serving: the same service with SYNDICATE_REACH on and off, each
on CPU 0, wrk on CPU 1, taking turns ROUNDS times (each keeps its median run), for
GET /topics/harm-reduction/feed.atom as 200 and as 304. Clients vary as pollers do: wrk's
script sends each request with one of five readers' User-Agents (two hosted readers) and
one of 2,000 X-Forwarded-For addresses (the service trusts loopback as its proxy): a few
thousand pollers, each polling again and again, as a busy feed has. Prints JSON: req/s of each, and on / off (target
>= 0.95).

    python bench/reach_counting.py
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from serving import fetch, free_ports, serve, stop, wait_up, wrk

PATH = "/topics/harm-reduction/feed.atom"
ROUNDS = int(os.environ.get("BENCH_REACH_ROUNDS", "3"))
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


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="syndicate-reach-bench-") as name:
        tmp = Path(name)
        script = tmp / "pollers.lua"
        script.write_text(SCRIPT)
        ports = dict(zip(("off", "on"), free_ports(2), strict=True))
        env = {"SYNDICATE_WATCH": "false", "SYNDICATE_ACCESS_LOG": "false",
               "SYNDICATE_PUBLIC_URL": "https://feeds.example.org"}  # fmt: skip
        processes = {
            "off": serve("off", ports["off"], tmp, {**env, "SYNDICATE_REACH": "false"}),
            "on": serve("on", ports["on"], tmp, {**env, "SYNDICATE_REACH": "true",
                                                  "SYNDICATE_STATE_DIR": str(tmp / "state")}),
        }  # fmt: skip
        try:
            for which, process in processes.items():
                wait_up(f"http://127.0.0.1:{ports[which]}/healthz", process, which,
                        tmp / f"{which}.log")  # fmt: skip
            etag = fetch(f"http://127.0.0.1:{ports['off']}{PATH}", {})[1]["ETag"]
            result: dict[str, dict[str, float]] = {}
            for case, headers in (("200", {}), ("304", {"If-None-Match": etag})):
                runs: dict[str, list[float]] = {"off": [], "on": []}
                for turn in range(ROUNDS):
                    for which in ("off", "on") if turn % 2 == 0 else ("on", "off"):
                        url = f"http://127.0.0.1:{ports[which]}{PATH}"
                        runs[which].append(wrk(url, headers, script)["rps"])
                off, on = (sorted(runs[w])[len(runs[w]) // 2] for w in ("off", "on"))
                result[case] = {"off_rps": off, "on_rps": on, "ratio": on / off}
        finally:
            for process in processes.values():
                stop(process)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
