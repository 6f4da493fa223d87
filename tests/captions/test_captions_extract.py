"""The offline extractor on real HST abstracts, and the vocabulary it matches."""

from __future__ import annotations

import json
import random
import re
from collections import defaultdict

from paperclip.vocabulary import load_vocabulary
from training.captions.extract import NothingFound, extract, find_terms, phrase_keys, rank_terms
from training.captions.schema import ProposalSummary

STOP = {
    "of",
    "the",
    "and",
    "in",
    "to",
    "a",
    "an",
    "for",
    "from",
    "with",
    "on",
    "by",
    "if",
    "between",
    "possible",
}


def _stems(text: str) -> set[str]:
    words = [w for w in re.findall(r"[a-z]+", text.lower()) if w not in STOP and len(w) > 2]
    return {w[:-1] if w.endswith(("ae", "s")) else w for w in words}  # crude singular


def test_coverage_on_112_real_abstracts(hst_mini):
    lines = (hst_mini / "abstracts_noid.txt").read_text().splitlines()
    assert len(lines) == 112
    both = 0
    n_objects = n_uses = 0
    for line in lines:
        abstract = re.match(r"Category: .*?\.\s+(.*)", line).group(1)
        try:
            summary = extract(abstract)
        except NothingFound:
            continue
        both += 1
        n_objects += len(summary.objects_and_phenomena)
        n_uses += len(summary.science_use_cases)
        assert ProposalSummary.model_validate(summary.model_dump()) == summary
    print(
        f"\nextractor coverage: {both}/{len(lines)} abstracts ({both / len(lines):.1%}) have >=1 object and"
        f" >=1 use case; mean {n_objects / both:.1f} objects, {n_uses / both:.1f} use cases"
    )
    assert both / len(lines) >= 0.95


def test_overlap_with_the_papers_own_summaries(hst_mini):
    """Word overlap with the 4 LLM summaries from the paper (a report; the extractor only knows its vocabulary)."""
    records = [json.loads(line) for line in (hst_mini / "manifest.jsonl").read_text().splitlines()]
    records = [r for r in records if r.get("abstract") and r.get("summary")]
    assert len(records) == 4
    recalls = []
    print()
    for r in records:
        ours = extract(r["abstract"])
        paper_objects = [s.strip() for s in r["summary_objects"].split(",")]
        ours_words = _stems(" ".join(ours.objects_and_phenomena))
        hit = [p for p in paper_objects if _stems(p) & ours_words]
        word_overlap = len(_stems(ours.text) & _stems(r["summary"])) / len(_stems(ours.text))
        recalls.append(len(hit) / len(paper_objects))
        print(
            f"proposal {r['proposal_id']}: ours '{ours.text}'\n"
            f"  paper objects matched {len(hit)}/{len(paper_objects)} {hit};"
            f" {word_overlap:.0%} of our words in the paper's summary"
        )
    print(f"mean object recall against the paper's summaries: {sum(recalls) / len(recalls):.0%}")
    assert all(recall > 0 for recall in recalls)


def test_acronyms_plurals_and_longest_match():
    found = {
        m.term.text for m in find_terms("AGN and QSOs near SNRs, PNe, UDGs, an LSB galaxy and SN Ia hosts.")
    }
    assert {"active galactic nuclei", "quasars", "supernova remnants", "planetary nebulae"} <= found
    assert {"ultra diffuse galaxies", "low surface brightness galaxies", "Type Ia supernovae"} <= found
    assert not find_terms("an agn, a qso and a pn")  # acronyms are case-sensitive
    assert [m.term.text for m in find_terms("a nebula and a globular cluster")] == [
        "nebulae",
        "globular clusters",
    ]
    assert [m.term.text for m in find_terms("dwarf galaxies")] == ["dwarf galaxies"]  # not also "galaxies"
    assert [m.term.text for m in find_terms("star-forming galaxies")] == ["star forming galaxies"]
    assert [m.term.text for m in find_terms("galaxies. Clusters")] == [
        "galaxies"
    ]  # no match across punctuation


def test_salience_ranks_the_subject_first_and_caps_at_five():
    abstract = (
        "We will image planetary nebulae in the Magellanic Clouds. Planetary nebulae trace the late "
        "stages of stellar evolution. The PNe also show dust, shocks, jets, white dwarfs, binaries, "
        "stellar winds and HII regions, and we measure abundances, distances and ages and metallicity."
    )
    summary = extract(abstract)
    assert summary.objects_and_phenomena[0] == "planetary nebulae"
    assert len(summary.objects_and_phenomena) == 5
    assert summary.science_use_cases[0] in {"stellar evolution", "stellar abundances"}
    ranked = rank_terms(abstract)["object"]
    assert [score for _, score in ranked] == sorted((score for _, score in ranked), reverse=True)
    assert extract(abstract) == summary  # deterministic


def test_nothing_found_is_an_error():
    try:
        extract("We request orbits for this program.")
    except NothingFound as err:
        assert "object" in str(err)
    else:
        raise AssertionError("expected NothingFound")


def test_vocabulary_is_consistent():
    terms = load_vocabulary()
    assert sum(t.source == "paper" for t in terms) == 77
    assert len(terms) >= 200
    assert len({(t.text, t.kind) for t in terms}) == len(terms)
    owner: dict[tuple, set[str]] = defaultdict(set)
    for term in terms:
        for phrase in (term.text, *term.synonyms):
            sensitive, keys = phrase_keys(phrase)
            for key in keys:
                owner[(sensitive, key)].add(term.text)
    clashes = {key: names for key, names in owner.items() if len(names) > 1}
    assert not clashes, clashes
    for term in terms:  # each term finds itself
        assert [m.term.text for m in find_terms(f"about {term.text} here")] == [term.text]


def test_synthetic_archive_abstracts():
    """The demo trains on the synthetic archive's abstracts: each should get a summary naming its class."""
    from indexer.synth.scenes import CLASSES
    from indexer.synth.texts import proposal_text
    from training.evaluate.queries import class_query

    n = found = named = 0
    for cls in CLASSES:
        for seed in range(12):
            fields = proposal_text(cls.label, random.Random(seed), "ACS/WFC", ["F606W"])
            n += 1
            try:
                summary = extract(fields["text"], fields["title"])
            except NothingFound:
                continue
            found += 1
            named += class_query(cls.label) in summary.objects_and_phenomena
    print(f"\nsynthetic abstracts: {found}/{n} summarised, {named}/{n} name their class among the objects")
    assert found / n >= 0.95 and named / n >= 0.85
