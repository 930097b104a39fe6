"""syndicate: Atom, RSS, JSON Feed and iCalendar feeds from YAML content definitions."""

__version__ = "0.1.0"
