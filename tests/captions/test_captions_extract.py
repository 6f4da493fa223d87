"""The offline extractor on real HST abstracts, and the vocabulary it matches."""

from __future__ import annotations

import json
import random
import re
from collections import defaultdict

from paperclip.mentions import find_mentions, name_keys, phrase_keys, table
from paperclip.vocabulary import ignored_phrases, load_vocabulary
from training.captions.extract import NothingFound, extract, rank_terms
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


def found(text: str) -> list[str]:
    return [m.term.text for m in find_mentions(text)]


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
    assert both / len(lines) >= 0.98


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
    terms = set(found("AGN and QSOs near shocked SNRs, PNe, UDGs, an LSB galaxy and a SN Ia explosion."))
    assert {"active galactic nuclei", "quasars", "supernova remnants", "planetary nebulae"} <= terms
    assert {"ultra diffuse galaxies", "low surface brightness galaxies", "Type Ia supernovae"} <= terms
    assert not find_mentions("an agn, a qso and a pn")  # acronyms are case-sensitive
    assert found("a nebula and a globular cluster") == ["nebulae", "globular clusters"]
    assert found("dwarf galaxies") == ["dwarf galaxies"]  # not also "galaxies"
    assert found("star-forming galaxies") == ["star forming galaxies"]
    assert found("galaxies. Clusters") == ["galaxies"]  # no match across punctuation
    assert found("JUPITER'S GREAT RED SPOT AND ITS ZONAL WINDS") == ["atmospheric dynamics"] * 2  # all caps


def test_salience_ranks_the_subject_first_caps_at_five_and_drops_passing_mentions():
    abstract = (
        "We will image planetary nebulae in the Magellanic Clouds. Planetary nebulae trace the late "
        "stages of stellar evolution. The PNe show dust, shocks and jets around their white dwarfs; the dust, "
        "shocks, jets and white dwarfs of PNe in binaries are compared with single white dwarfs, with dust "
        "and shocks modelled, and we measure the nebular abundances and ages. Unlike supernova remnants, "
        "PNe are not destroyed quickly."
    )
    summary = extract(abstract)
    assert summary.objects_and_phenomena[0] == "planetary nebulae"
    assert len(summary.objects_and_phenomena) == 5
    assert "supernova remnants" not in summary.objects_and_phenomena  # one late passing mention
    assert summary.science_use_cases[0] == "stellar evolution"
    ranked = rank_terms(abstract)["object"]
    assert [score for _, score in ranked] == sorted((score for _, score in ranked), reverse=True)
    assert ranked[-1][0] == "supernova remnants"  # ranked, but below the share kept
    assert extract(abstract) == summary  # deterministic
    quoted = rank_terms(
        "We image dwarf galaxies to measure their stellar masses. The stellar mass < 1e8 Msun."
    )
    measured = rank_terms(
        "We image dwarf galaxies to measure their stellar masses. The stellar mass matters."
    )
    assert (
        dict(quoted["use_case"])["stellar mass measurements"]
        < dict(measured["use_case"])["stellar mass measurements"]
    )  # a value after the phrase describes the target


def test_nothing_found_is_an_error():
    try:
        extract("We request orbits for this program.")
    except NothingFound as err:
        assert "object" in str(err) and err.reason == "no_object"
    else:
        raise AssertionError("expected NothingFound")


def test_vocabulary_is_consistent():
    """One meaning per phrase: no phrase of two terms, no sense or name hidden by a plain phrase."""
    terms = load_vocabulary()
    assert sum(t.source == "paper" for t in terms) == 77
    assert len(terms) >= 250
    assert len({(t.text, t.kind) for t in terms}) == len(terms)
    owner: dict[tuple, set[str]] = defaultdict(set)
    senses: dict[tuple, set[str]] = defaultdict(set)
    names: dict[tuple, set[str]] = defaultdict(set)
    for term in terms:
        for phrase in (term.text, *term.synonyms):
            for key in phrase_keys(phrase):
                owner[key].add(term.text)
        for sense in term.senses:
            for phrase in sense.phrases:
                for key in phrase_keys(phrase):
                    senses[key].add(term.text)
        for name in term.names:
            for key in name_keys(name):
                names[key].add(term.text)
    assert not {key: ts for key, ts in owner.items() if len(ts) > 1}
    assert not {key: senses[key] for key in senses if key in owner}, "a plain phrase hides a sense"
    assert not {key: ts for key, ts in names.items() if len(ts) > 1}
    ignored = {key for p in ignored_phrases() for key in phrase_keys(p, inflect=False)}
    assert ignored & set(owner) <= {
        ("transient",),
        ("elliptical",),
    }  # adjectives; the plural nouns still count
    assert table().patterns  # every pattern compiled
    for term in terms:  # each term finds itself
        assert found(f"about {term.text} here") == [term.text], term.text


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
