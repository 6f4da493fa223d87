"""Captions: the offline extractor's quality on real abstracts, then its speed.

    python benchmarks/bench_captions.py [--repeat 5] [--proposals 2000] [--quality-only]

Quality: coverage (at least one object and one use case) on the 112 real HST abstracts and on
their first two sentences only (short abstracts are where extractors fail), the share of wrong
terms on the hand-labelled subset (tests/data/captions/labelled.jsonl), and coverage on the
held-out programme-style abstracts. Speed: abstracts/s of the matcher (``paperclip.mentions``)
beside a baseline that runs one regex per vocabulary phrase, then proposals/s of a full
``run_captions("extract")`` and of the cached rerun on a fresh SQLite database.
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "captions"


def hst_mini() -> Path:
    """PAPERCLIP_HST_MINI, else the copy in tests/data, else the shared sample beside the checkout."""
    for path in (
        os.environ.get("PAPERCLIP_HST_MINI"),
        ROOT / "tests/data/hst-mini",
        ROOT.parent / "shared/data/hst-mini",
    ):
        if path and (Path(path) / "abstracts_noid.txt").is_file():
            return Path(path)
    raise SystemExit("no HST sample found: set PAPERCLIP_HST_MINI")


def bench_quality() -> None:
    from training.captions.quality import coverage, heldout_abstracts, load_labels, precision, real_abstracts
    from training.captions.raw import split_sentences

    sample = hst_mini()
    abstracts = [abstract for _, abstract in real_abstracts(sample)]
    full = coverage(abstracts)
    short = coverage([" ".join(split_sentences(a)[:2]) for a in abstracts])
    print(
        f"coverage, {full.total} real abstracts:             {full.covered}/{full.total - full.skipped} ({full.share:.1%})"
    )
    print(
        f"coverage, their first two sentences only:    {short.covered}/{short.total - short.skipped} ({short.share:.1%})"
    )
    for miss in full.missed:
        print(f"  not covered: {miss}...")
    labelled = precision(load_labels(DATA / "labelled.jsonl", sample))
    print(
        f"labelled subset: {labelled.terms} extracted terms, {labelled.accepted} accepted, "
        f"{len(labelled.wrong)} wrong, {len(labelled.unlabelled)} unlabelled: {labelled.share_wrong:.1%} wrong"
    )
    for line in labelled.wrong + labelled.unlabelled:
        print(f"  {line}")
    for name in ("heldout_abstracts.jsonl", "heldout2_abstracts.jsonl"):
        rows = heldout_abstracts(DATA / name)
        got = coverage([r["abstract"] for r in rows])
        print(
            f"coverage, held-out {name}: {got.covered}/{got.total - got.skipped} ({got.share:.1%}), {got.skipped} skipped"
        )
        for miss in got.missed:
            print(f"  not covered: {miss}...")


def baseline_terms(text: str, regexes: list[tuple[re.Pattern[str], str]]) -> set[str]:
    """One regex per phrase over the whole text: the obvious implementation."""
    return {term for regex, term in regexes if regex.search(text)}


def bench_matchers(repeat: int) -> None:
    from paperclip.mentions import find_mentions, normalize, table
    from paperclip.vocabulary import load_vocabulary
    from training.captions.quality import real_abstracts

    table()
    regexes = [
        (re.compile(rf"(?<!\w){re.escape(normalize(p))}s?(?!\w)", re.IGNORECASE), t.text)
        for t in load_vocabulary()
        for p in (t.text, *t.synonyms)
    ]
    texts = [abstract for _, abstract in real_abstracts(hst_mini())] * repeat
    t0 = time.perf_counter()
    for text in texts:
        baseline_terms(normalize(text), regexes)
    base = len(texts) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for text in texts:
        find_mentions(text)
    ours = len(texts) / (time.perf_counter() - t0)
    print(f"matcher  baseline (one regex per phrase, {len(regexes)} phrases): {base:8.0f} abstracts/s")
    print(f"matcher  paperclip.mentions (senses, names, patterns):  {ours:8.0f} abstracts/s")
    print(f"speed-up: {ours / base:.1f}x")


def bench_run(proposals: int) -> None:
    from paperclip.config import get_settings
    from paperclip.db import session_scope, upgrade
    from paperclip.schema import Proposal
    from training.captions.quality import real_abstracts
    from training.captions.run import run_captions

    abstracts = [abstract for _, abstract in real_abstracts(hst_mini())]
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["PAPERCLIP_HOME"] = tmp
        os.environ.pop("PAPERCLIP_DATABASE_URL", None)
        get_settings.cache_clear()
        upgrade()
        with session_scope() as s:
            s.add_all(
                Proposal(collection="B", proposal_id=str(i), abstract=f"{abstracts[i % len(abstracts)]} #{i}")
                for i in range(proposals)
            )
        for label in ("first run", "cached rerun"):
            summary = run_captions(progress=False)
            print(
                f"run_captions {label}: {proposals / summary.seconds:8.0f} proposals/s ({summary.seconds:.2f} s)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--proposals", type=int, default=2000)
    parser.add_argument("--quality-only", action="store_true")
    args = parser.parse_args()
    bench_quality()
    if not args.quality_only:
        bench_matchers(args.repeat)
        bench_run(args.proposals)


if __name__ == "__main__":
    main()
