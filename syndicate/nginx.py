"""nginx configuration for a caching tier in front of the workers (`syndicate nginx-config`).

What it makes nginx do, and why (docs/deployment.md has the long form):

* **One cache entry per representation and encoding.** The key is the decoded path and
  whether the client takes gzip (`$syndicate_encoding`, decided with the service's own
  rules: q-values, `*`, `x-gzip`), and that normalised value is what the workers are asked
  with. `Vary` is then ignored for the key (it would split entries by every spelling of
  Accept-Encoding) but still sent to clients.
* **Query strings as the service treats them**: a well-formed query names the same
  representation, so it shares the entry (a cache-busting `?t=123` cannot bypass the
  cache); any other query goes to a worker uncached, which answers 200 or 400 as it would.
* **Validators**: after `max-age`, entries are revalidated with the workers' ETag and
  Last-Modified (`proxy_cache_revalidate`, in the background); clients' conditional
  requests are answered from the cache with the service's ETags.
* **The service's freshness rules, not nginx's**: no `proxy_cache_valid`, no
  `proxy_cache_use_stale`, so `max-age`, `stale-while-revalidate` and `stale-if-error`
  from the workers decide; with every worker down, feeds are served stale for
  `stale-if-error` (a day by default). Responses marked `no-store` (errors) are not kept.
* Headers from the workers (CORS, Link, ETag, Cache-Control, CSP) pass unchanged;
  `X-Cache-Status` says HIT, MISS, STALE, UPDATING, REVALIDATED or BYPASS.
* Cache hits keep their files open (`open_file_cache`): a third more hits a second here.
* The fediverse's paths: `/ap/` keys by whether a browser asked (an actor or Note redirects
  browsers to its page, and gives servers JSON), passes the Host as the sender signed it,
  and lets activities of up to 1 MB through; WebFinger keys by its query.
* `/stats/`, the operators' reach stats, is never cached: it is private to a session.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from syndicate.conditional import accepts_gzip

# What clients commonly send, answered without a regular expression (nginx looks exact
# values up in a hash first); decided here by the service's own function.
COMMON_ACCEPT_ENCODINGS = (
    "", "gzip", "identity", "gzip, deflate", "deflate, gzip", "gzip, deflate, br",
    "gzip, deflate, br, zstd", "br, gzip", "gzip,deflate", "gzip, br", "br", "deflate", "*",
)  # fmt: skip
# Accept-Encoding -> "gzip" or "", as syndicate.conditional.accepts_gzip decides: the
# exact values above, then regular expressions for the rest.
ENCODING_REGEXES = r"""    "~*(^|[,\s])(x-)?gzip\s*(;[^,]*)?;\s*q\s*=\s*0(\.0{0,3})?\s*(,|;|$)" "";
    "~*(^|[,\s])(x-)?gzip\s*(;|,|$)" gzip;
    "~(^|[,\s])\*\s*(,|$|;\s*q\s*=\s*(1|0?\.0*[1-9]))" gzip;
"""


def encoding_map() -> str:
    exact = "".join(
        f'    "{value}" {"gzip" if accepts_gzip(value) else chr(34) * 2};\n'
        for value in COMMON_ACCEPT_ENCODINGS
    )
    return (
        "map $http_accept_encoding $syndicate_encoding {\n"
        f'    default "";\n{exact}{ENCODING_REGEXES}}}\n'
    )


# Queries made only of characters that are well-formed for the service (no '%' but a
# printable ASCII escape, no control character) share the path's entry; others bypass.
QUERY_MAP = r"""map $args $syndicate_uncached_query {
    default 1;
    "" 0;
    "~^([A-Za-z0-9._~=&+,;:@/!$'()*-]|%[2-6][0-9A-Fa-f]|%7[0-9A-Ea-e])*$" 0;
}
"""


# Whether a request is a browser's (HTML wanted, no ActivityPub type): a fediverse actor or
# Note redirects browsers to its page and answers servers with JSON.
BROWSER_MAP = r"""map $http_accept $syndicate_browser {
    default 0;
    "~*(activity|ld)\+json" 0;
    "~*text/html" 1;
}
"""
FEDIVERSE_EXTRA = (
    "proxy_set_header Host $http_host;  # as signed: with its port, as the sender wrote it",
    "client_max_body_size 1100k;  # an activity is at most 1 MB (the service says so past it)",
)


def _location(match: str, key: str, extra: Sequence[str] = (), keyed_by_query: bool = False) -> str:
    """One location block: the proxy and cache settings every path shares, the cache key,
    and `extra` directives. `keyed_by_query`: the key holds the query, so none bypasses."""
    own = "".join(f"        {line}\n" for line in extra)
    host = "" if any("Host" in line for line in extra) else "        proxy_set_header Host $host;\n"
    bypass = (
        ""
        if keyed_by_query
        else (
            "        proxy_cache_bypass $syndicate_uncached_query;\n"
            "        proxy_no_cache $syndicate_uncached_query;\n"
        )
    )
    return f"""    location {match} {{
        proxy_pass http://syndicate_workers;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
{host}        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header Accept-Encoding $syndicate_encoding;
        proxy_connect_timeout 2s;
        proxy_read_timeout 30s;
        proxy_next_upstream error timeout http_502 http_503 http_504;

        proxy_cache syndicate;
        proxy_cache_key {key};
{bypass}        proxy_ignore_headers Vary;
        proxy_cache_revalidate on;
        proxy_cache_background_update on;
        proxy_cache_lock on;
        proxy_cache_lock_timeout 5s;
        if_modified_since before;
        # Cache hits keep their file open: nginx writes a new entry aside and renames it
        # in place, so a descriptor kept open never serves an older entry's bytes.
        open_file_cache max=10000 inactive=60s;
        open_file_cache_valid 30s;
{own}        add_header X-Cache-Status $upstream_cache_status always;
        add_header Strict-Transport-Security $syndicate_hsts always;
    }}
"""


@dataclass(frozen=True)
class Tls:
    """https for the tier: where it listens, the certificate files (certbot's by default)."""

    listen: str = "443"
    certificate: str = ""
    key: str = ""


def certbot_paths(server_name: str) -> tuple[str, str]:
    """Where `certbot certonly` keeps the certificate and key for `server_name`."""
    live = f"/etc/letsencrypt/live/{server_name}"
    return f"{live}/fullchain.pem", f"{live}/privkey.pem"


@dataclass(frozen=True)
class CacheTier:
    upstreams: Sequence[str] = ("127.0.0.1:8080",)
    listen: str = "80"
    server_name: str = "_"
    cache_dir: str = "/var/cache/nginx/syndicate"
    cache_size: str = "1g"
    tls: Tls | None = None
    # The folder `certbot certonly --webroot` writes its challenges in, served over http.
    acme_root: str | None = None


def cache_tier(tier: CacheTier) -> str:
    """The configuration, to include in nginx's `http` block."""
    servers = "".join(
        f"    server {upstream} max_fails=1 fail_timeout=5s;\n" for upstream in tier.upstreams
    )
    warning = (
        "# server_name _ names no host: a server marked default_server (Debian's default site,\n"
        "# /etc/nginx/sites-enabled/default) takes the requests. Give --server-name.\n"
        if tier.server_name == "_"
        else ""
    )
    return f"""# syndicate: nginx as a caching proxy in front of `syndicate serve` workers.
# Generated by `syndicate nginx-config`; include it in nginx's http block. The folder
# {tier.cache_dir} must exist, writable by nginx's user (nginx creates only its last level).
{warning}
{encoding_map()}
{QUERY_MAP}
{BROWSER_MAP}
proxy_cache_path {tier.cache_dir} levels=1:2 keys_zone=syndicate:16m
                 max_size={tier.cache_size} inactive=30d use_temp_path=off;

upstream syndicate_workers {{
{servers}    keepalive 32;
}}

{HSTS_MAP}
{_servers(tier)}
{_location("/", '"$syndicate_encoding $uri"')}
    # The fediverse (SYNDICATE_FEDIVERSE). Actors and Notes answer a browser with a redirect
    # to the page and a server with JSON (Vary: Accept): the key says which one asked.
    # Inboxes take signed POSTs (never cached), passed with the Host the sender signed.
{_location("/ap/", '"$syndicate_encoding $syndicate_browser $uri"', FEDIVERSE_EXTRA)}
    # WebFinger's answer depends on its query (?resource=acct:topic@host): keyed by it.
{_location("= /.well-known/webfinger", '"$syndicate_encoding $uri?$args"', keyed_by_query=True)}
{STATS_LOCATION}
{OPERATORS_LOCATIONS}}}
"""


# Strict-Transport-Security on https answers only (an empty value sends no header): a
# client that once reached the feeds over https never tries http for them again.
HSTS_MAP = """map $scheme $syndicate_hsts {
    default "";
    https "max-age=31536000";
}
"""


def _servers(tier: CacheTier) -> str:
    """The opening of the server block that proxies; with TLS, the http server before it,
    which redirects everything to https but certbot's challenges."""
    acme = (
        f"""    # certbot certonly --webroot -w {tier.acme_root} writes its challenges here.
    location /.well-known/acme-challenge/ {{
        root {tier.acme_root};
    }}
"""
        if tier.acme_root
        else ""
    )
    if tier.tls is None:
        return f"""server {{
    listen {tier.listen};
    server_name {tier.server_name};
{acme}"""
    tls = tier.tls
    target = "$host" if tier.server_name == "_" else tier.server_name
    return f"""# http: certbot's challenges, and a permanent redirect to https for the rest.
server {{
    listen {tier.listen};
    server_name {tier.server_name};
{acme}    location / {{
        return 301 https://{target}$request_uri;
    }}
}}

server {{
    listen {tls.listen} ssl;
    server_name {tier.server_name};
    # certbot writes these (/etc/letsencrypt/live/NAME/ for --server-name NAME); its
    # --deploy-hook must reload nginx (`systemctl reload nginx`) after each renewal.
    ssl_certificate {tls.certificate};
    ssl_certificate_key {tls.key};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:syndicate_tls:10m;
    ssl_session_timeout 1d;
    ssl_session_tickets off;
"""


# /healthz and /metrics are for the operators: their reasons name the database's host and
# the state folder, /healthz lists the workers' pids. Through the tier they answer loopback
# only (a monitor on this machine, or one that asks the workers' port directly).
OPERATORS_LOCATIONS = """    # For operators only: reachable from this machine, never cached.
    location ~ ^/(healthz|metrics)$ {
        allow 127.0.0.1;
        allow ::1;
        deny all;
        proxy_pass http://syndicate_workers;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
        proxy_cache off;
        add_header X-Cache-Status BYPASS always;
    }
"""


# The operators' stats (SYNDICATE_ADMIN_PASSWORD): private to whoever is signed in, so never
# cached, whatever a response says; the client's address for the sign-in limits.
STATS_LOCATION = """    # Reach stats for operators: private, never cached here.
    location /stats/ {
        proxy_pass http://syndicate_workers;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_connect_timeout 2s;
        proxy_read_timeout 30s;
        proxy_cache off;
        add_header X-Cache-Status BYPASS always;
        add_header Strict-Transport-Security $syndicate_hsts always;
    }
"""
