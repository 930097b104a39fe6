"""Reach: how many people the feeds reach, counted without tracking anyone (docs/reach.md).

`clients` tells a request's User-Agent apart (a hosted reader reporting its subscribers, a
known bot, any other poller), `salt` keeps the day's secret that poller hashes are made
with, `tally` counts one worker's requests in memory, `charts` draws what the stats page
shows. The database side is `syndicate.people.reach`, the HTTP side `syndicate.web.reach`
(counting) and `syndicate.web.stats` (the operators' page).
"""
