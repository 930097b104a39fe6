"""The reference `make bench` measures the service against on aiohttp's own terms: a bare
low-level aiohttp server (no router, no application, no access log) answering one path
with the same bytes, their gzip encoding, and a 304 for a matching ETag. What the service
does beyond this (lookup, validators, headers, metrics, access log) is what the ratio shows.

    python bench/bare.py PORT BODY_FILE     (BODY_FILE.gz beside it)
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from aiohttp import web

try:
    import uvloop
except ImportError:  # pragma: no cover
    uvloop = None


def main() -> None:
    port, body_file = int(sys.argv[1]), Path(sys.argv[2])
    body = body_file.read_bytes()
    gzipped = Path(str(body_file) + ".gz").read_bytes()
    etag, gzip_etag = '"bare"', '"bare-gzip"'
    kind = {"Content-Type": "application/atom+xml; charset=utf-8", "Vary": "Accept-Encoding"}

    async def handle(request: web.BaseRequest) -> web.Response:
        gzip = "gzip" in request.headers.get("Accept-Encoding", "")
        tag = gzip_etag if gzip else etag
        if request.headers.get("If-None-Match") == tag:
            return web.Response(status=304, headers={"ETag": tag})
        headers = {**kind, "ETag": tag}
        if gzip:
            headers["Content-Encoding"] = "gzip"
        return web.Response(body=gzipped if gzip else body, headers=headers)

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
