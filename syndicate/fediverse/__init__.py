"""Following topics from the fediverse (ActivityPub): every topic, and the site, an actor
that Mastodon and other servers follow; every item a Note they receive, update and delete.

Pure parts (documents, notes, activities, signatures) take the catalog and give bytes; the
state (followers, what was told, deliveries) is in the people wing's database; the HTTP side
is web/fediverse.py.
"""
