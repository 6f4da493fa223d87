"""Caption throughput: the offline extractor's word-table matcher against a baseline that runs one
regex per vocabulary phrase, and ``run_captions("extract")`` end to end on a fresh SQLite database.

    python benchmarks/bench_captions.py [--repeat 5] [--proposals 2000]

Prints abstracts/s for both matchers (same abstracts, same vocabulary) and the speed-up, then
proposals/s of a full first run and of the cached rerun.
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
import time
from pathlib import Path

HST_MINI = Path(
    os.environ.get("PAPERCLIP_HST_MINI", Path(__file__).resolve().parents[2] / "shared/data/hst-mini")
)


def _abstracts() -> list[str]:
    lines = (HST_MINI / "abstracts_noid.txt").read_text().splitlines()
    return [re.match(r"Category: .*?\.\s+(.*)", line).group(1) for line in lines]


def baseline_terms(text: str, regexes: list[tuple[re.Pattern[str], str]]) -> set[str]:
    """One regex per phrase over the whole text: the obvious implementation."""
    return {term for regex, term in regexes if regex.search(text)}


def bench_matchers(repeat: int) -> None:
    from paperclip.vocabulary import load_vocabulary
    from training.captions.extract import find_terms, normalize, phrase_table

    phrase_table()
    regexes = [
        (re.compile(rf"(?<!\w){re.escape(normalize(p))}s?(?!\w)", re.IGNORECASE), t.text)
        for t in load_vocabulary()
        for p in (t.text, *t.synonyms)
    ]
    texts = _abstracts() * repeat
    t0 = time.perf_counter()
    for text in texts:
        baseline_terms(normalize(text), regexes)
    base = len(texts) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for text in texts:
        find_terms(text)
    ours = len(texts) / (time.perf_counter() - t0)
    print(f"matcher  baseline (one regex per phrase, {len(regexes)} phrases): {base:8.0f} abstracts/s")
    print(f"matcher  word table (training.captions.extract):            {ours:8.0f} abstracts/s")
    print(f"speed-up: {ours / base:.1f}x")


def bench_run(proposals: int) -> None:
    from paperclip.config import get_settings
    from paperclip.db import session_scope, upgrade
    from paperclip.schema import Proposal
    from training.captions.run import run_captions

    abstracts = _abstracts()
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
    args = parser.parse_args()
    bench_matchers(args.repeat)
    bench_run(args.proposals)


if __name__ == "__main__":
    main()
