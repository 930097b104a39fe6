"""The command line: `syndicate check [DIR]`. The only module that prints and exits.

Exit codes: 0 success, 1 invalid content, 2 usage error (argparse's convention).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from syndicate import __version__
from syndicate.loader import load_catalog
from syndicate.model import Catalog
from syndicate.problems import ContentError
from syndicate.sources import is_readable_dir

DEFAULT_CONFIG = "feeds_config"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="syndicate", description="Feeds for topic pages, from YAML content definitions."
    )
    parser.add_argument("--version", action="version", version=f"syndicate {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    check = commands.add_parser(
        "check", help="validate the content definitions and print a summary"
    )
    check.add_argument(
        "config",
        nargs="?",
        default=DEFAULT_CONFIG,
        metavar="DIR",
        help=f"the content folder (default: {DEFAULT_CONFIG})",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    config = Path(args.config)
    if not is_readable_dir(config):
        parser.error(f"{config} is not a readable folder")
    return _check(config)


def _check(config: Path) -> int:
    try:
        catalog = load_catalog(config)
    except ContentError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        count = len(error.problems)
        print(f"{count} problem{'s' if count != 1 else ''} found in {config}", file=sys.stderr)
        return 1
    print(summary(catalog, config))
    return 0


def summary(catalog: Catalog, config: Path) -> str:
    """A short human summary of what the content defines."""
    lines = [f"{config}: valid. {catalog.site.title}, {len(catalog.items)} items."]
    lines.append("Types:")
    for slug, content_type in catalog.types.items():
        count = len(catalog.by_type[slug])
        lines.append(f"  {slug:<20} {content_type.kind.value:<8} {count:>5} items")
    lines.append("Topics:")
    for slug in catalog.topics:
        per_type = ", ".join(
            f"{len(catalog.by_topic_and_type[(slug, t)])} {t}" for t in catalog.types
        )
        lines.append(f"  {slug:<20} {len(catalog.by_topic[slug]):>5} items ({per_type})")
    withdrawn = sum(1 for item in catalog.items if item.withdrawn)
    if withdrawn:
        lines.append(f"Withdrawn: {withdrawn}")
    return "\n".join(lines)
