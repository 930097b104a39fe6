"""Write a large content folder for benchmarks: N items over T topics (default 10,000 / 50).

    python bench/generate.py OUT [--items 10000] [--topics 50]

Deterministic (seeded), so every run measures the same content.
"""

from __future__ import annotations

import argparse
import random
import shutil
from pathlib import Path

import yaml

SITE = {
    "site": {
        "title": "Benchmark Foundation",
        "url": "https://example.org/",
        "feeds_url": "http://127.0.0.1:8080",
        "language": "en",
        "timezone": "America/New_York",
        "publisher": {"name": "Benchmark Foundation"},
        "tag_authority": "example.org",
        "tag_date": "2026",
    }
}
TYPES = {
    "types": [
        {"slug": "events", "kind": "event", "title": "Events", "singular": "Event"},
        {"slug": "voices", "kind": "article", "title": "Voices", "singular": "Voice"},
        {
            "slug": "publications",
            "kind": "article",
            "title": "Publications",
            "singular": "Publication",
        },
    ]
}
WORDS = [
    "harm",
    "reduction",
    "policy",
    "health",
    "rights",
    "justice",
    "community",
    "drug",
    "court",
    "reform",
    "evidence",
    "public",
]


def generate(out: Path, items: int, topics: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    if out.exists():
        shutil.rmtree(out)
    (out / "items").mkdir(parents=True)
    (out / "site.yaml").write_text(yaml.safe_dump(SITE), encoding="utf-8")
    (out / "types.yaml").write_text(yaml.safe_dump(TYPES), encoding="utf-8")
    topic_slugs = [f"topic-{n:03d}" for n in range(topics)]
    (out / "topics.yaml").write_text(
        yaml.safe_dump({"topics": [{"slug": s, "title": s.replace("-", " ").title(),
                                    "description": " ".join(rng.choices(WORDS, k=30))} for s in topic_slugs]}),
        encoding="utf-8",
    )  # fmt: skip
    per_file = 100
    for start in range(0, items, per_file):
        batch = []
        for n in range(start, min(start + per_file, items)):
            kind = rng.choice(["events", "voices", "publications"])
            day = 1 + n % 28
            item = {
                "id": f"item-{n:05d}",
                "type": kind,
                "title": " ".join(rng.choices(WORDS, k=8)).capitalize(),
                "summary": " ".join(rng.choices(WORDS, k=60)),
                "url": f"https://example.org/{kind}/item-{n:05d}",
                "published": f"20{10 + n % 16:02d}-{1 + n % 12:02d}-{day:02d}T{n % 24:02d}:00+00:00",  # UTC: no DST gaps
                "topics": rng.sample(topic_slugs, k=rng.randint(1, 3)),
                "tags": rng.sample(WORDS, k=3),
                "authors": [{"name": f"Author {n % 97}"}],
            }
            if kind == "events":
                item["start"] = f"2027-{1 + n % 12:02d}-{day:02d}T18:30"
                item["city"] = "New York"
            batch.append(item)
        (out / "items" / f"batch-{start // per_file:04d}.yaml").write_text(
            yaml.safe_dump({"items": batch}, allow_unicode=True), encoding="utf-8"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--topics", type=int, default=50)
    args = parser.parse_args()
    generate(args.out, args.items, args.topics)
    print(f"wrote {args.items} items over {args.topics} topics to {args.out}")


if __name__ == "__main__":
    main()
