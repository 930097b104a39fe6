"""The reference `make bench` measures the service against on aiohttp's own terms: a bare
low-level aiohttp server (no router, no application, no access log, no head timeout)
answering one path with the very response the service sends: the same body, its gzip
encoding, a 304 for a matching ETag, each with the same header fields (fetched from the
service by the bench, so the two responses differ in the Date only). What the service
does beyond this (lookup, validators, negotiation, metrics, access log, slow-client
defence) is what the ratio shows.

    python bench/bare.py PORT RESPONSES_JSON

RESPONSES_JSON: {"body": file, "gzip_body": file, "etag": .., "gzip_etag": ..,
"headers": {variant: {name: value}}} with variants "200", "200 gzip", "304", "304 gzip".
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from aiohttp import web

try:
    import uvloop
except ImportError:  # pragma: no cover
    uvloop = None


def main() -> None:
    port, spec = int(sys.argv[1]), json.loads(Path(sys.argv[2]).read_text())
    body = Path(spec["body"]).read_bytes()
    gzipped = Path(spec["gzip_body"]).read_bytes()
    etag, gzip_etag = spec["etag"], spec["gzip_etag"]
    headers = spec["headers"]

    async def handle(request: web.BaseRequest) -> web.Response:
        gzip = "gzip" in request.headers.get("Accept-Encoding", "")
        if request.headers.get("If-None-Match") == (gzip_etag if gzip else etag):
            return web.Response(status=304, headers=headers["304 gzip" if gzip else "304"])
        if gzip:
            return web.Response(body=gzipped, headers=headers["200 gzip"])
        return web.Response(body=body, headers=headers["200"])

    async def serve() -> None:
        server = web.Server(handle, access_log=None)
        loop = asyncio.get_running_loop()
        await loop.create_server(server, "127.0.0.1", port)
        await asyncio.Event().wait()

    if uvloop is not None:
        uvloop.run(serve())
    else:
        asyncio.run(serve())


if __name__ == "__main__":
    main()
