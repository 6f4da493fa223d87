"""The whole evaluation on real HST previews with two tiny models: JSON, plots, report, judge."""

from __future__ import annotations

import json
import re
from base64 import b64encode

import pytest

from paperclip.vocabulary import load_vocabulary
from training.data import Pair, token_fits
from training.evaluate.models import ModelSpec
from training.evaluate.queries import PAPER_QUERIES
from training.evaluate.run import _window_raw, evaluate_pairs


def pairs_of(records) -> list[Pair]:
    return [Pair(i + 1, r.proposal, r.image, r.caption, r.label) for i, r in enumerate(records)]


def test_two_models_side_by_side(mini_records, tuned_checkpoint, llm_server, home, tmp_path):
    pairs = pairs_of(mini_records)
    abstracts = {r.proposal: r.abstract for r in mini_records}
    specs = [ModelSpec("base", "tiny"), ModelSpec("tuned", str(tuned_checkpoint))]
    out = tmp_path / "report"
    metrics = evaluate_pairs(specs, pairs, out, seed=3, abstracts=abstracts, judge=True)

    assert json.loads((out / "metrics.json").read_text()) == metrics
    assert list(metrics["models"]) == ["base", "tuned"]
    assert metrics["n_pairs"] == len(pairs)
    assert metrics["n_proposals"] == len({r.proposal for r in mini_records})
    assert metrics["n_labelled"] == sum(r.label is not None for r in mini_records)
    base, tuned = metrics["models"]["base"], metrics["models"]["tuned"]
    assert base["image_to_text"]["auc"] != tuned["image_to_text"]["auc"]
    for m in (base, tuned):
        for direction in ("image_to_text", "text_to_image"):
            block = m[direction]
            curve = [block["top_k_accuracy"][str(k)] for k in range(1, 101)]
            assert curve == sorted(curve) and curve[-1] == 1.0
            assert block["duplicate_aware"]["auc"] >= block["auc"]
            assert 1 <= block["median_rank"] <= len(pairs)
            assert block["recall_at_1"] <= block["recall_at_5"] <= block["recall_at_10"]
        assert set(m["classes"]) == {r.label for r in mini_records if r.label}
        assert 0 <= m["class_precision_at_10"] <= 1
        described = m["description_retrieval"]
        assert described["candidates"] >= len(load_vocabulary())
        assert 0 <= described["recall_at_1"] <= described["recall_at_5"] <= described["recall_at_10"] <= 1
        assert m["similarity"]["gap"] == pytest.approx(
            m["similarity"]["matched_mean"] - m["similarity"]["shuffled_mean"]
        )
        assert len(m["descriptions"]) == 6
        # the judge saw each paper query's top 10 and its precision follows from the answers
        assert list(m["image_retrieval"]) == list(PAPER_QUERIES)
        by_obs = {i + 1: abstracts[r.proposal] for i, r in enumerate(mini_records)}  # what the judge reads
        verdicts = [llm_server.says_yes(q, by_obs[o]) for q, ids in m["image_retrieval"].items() for o in ids]
        known = [v for v in verdicts if v is not None]
        assert m["judge"]["precision_at_10"] == pytest.approx(sum(known) / len(known))
        assert m["judge"]["unjudged"] == 10  # the 'comets' answers
    judged = {(q, by_obs[o]) for m in (base, tuned) for q, ids in m["image_retrieval"].items() for o in ids}
    assert len(llm_server.requests) == len(judged)  # each (query, abstract) asked once per run

    pngs = sorted(p.name for p in out.glob("*.png"))
    assert pngs == sorted(
        ["topk_curves.png", "similarity.png", "class_precision.png"]
        + [f"{kind}_{m}.png" for kind in ("retrieval", "descriptions") for m in ("base", "tuned")]
    )
    html = (out / "report.html").read_text()
    for name in pngs:
        assert f'href="{name}"' in html
        assert b64encode((out / name).read_bytes()).decode() in html
    assert all(src.startswith("data:image/png;base64,") for src in re.findall(r'src="([^"]*)"', html))
    assert "How to read this" in html and "tuned" in html


def test_same_seed_same_bytes(mini_records, tuned_checkpoint, home, tmp_path):
    pairs = [
        Pair(p.observation_id, p.proposal_pk, p.image_path, p.caption, None)
        for p in pairs_of(mini_records[:12])
    ]
    specs = [ModelSpec("tuned", str(tuned_checkpoint))]
    first = evaluate_pairs(specs, pairs, tmp_path / "a", seed=5)
    no_labels = first["models"]["tuned"]
    assert no_labels["class_precision_at_10"] is None and no_labels["description_retrieval"] is None
    assert evaluate_pairs(specs, pairs, tmp_path / "b", seed=5) == first
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert {"report.html", "metrics.json", "topk_curves.png", "retrieval_tuned.png"} <= set(names)
    assert "class_precision.png" not in names
    for name in names:
        assert (tmp_path / "b" / name).read_bytes() == (tmp_path / "a" / name).read_bytes(), name


def test_a_base_that_cannot_load_is_left_out(mini_records, tuned_checkpoint, home, tmp_path):
    pairs = pairs_of(mini_records[:8])
    specs = [ModelSpec("base", "no-such-open-clip-model"), ModelSpec("tuned", str(tuned_checkpoint))]
    metrics = evaluate_pairs(specs, pairs, tmp_path / "out", seed=0)
    assert list(metrics["models"]) == ["tuned"]
    assert "no-such-open-clip-model" in metrics["skipped"]["base"]
    assert "Not evaluated" in (tmp_path / "out" / "report.html").read_text()
    with pytest.raises(ValueError, match="unknown"):
        evaluate_pairs([ModelSpec("mine", "no-such-open-clip-model")], pairs, tmp_path / "x")


def test_too_few_proposals_is_a_clear_error(mini_records, home, tmp_path):
    one = [r for r in mini_records if r.proposal == mini_records[0].proposal]
    with pytest.raises(ValueError, match="at least 2 proposals"):
        evaluate_pairs([ModelSpec("base", "tiny")], pairs_of(one), tmp_path / "out")
    assert not (tmp_path / "out" / "metrics.json").exists()


def test_raw_abstracts_are_cut_to_the_context(mini_records, tiny_model):
    long = [
        Pair(i, r.proposal, r.image, r.abstract * 3, r.label, kind="raw") for i, r in enumerate(mini_records)
    ]
    fits = token_fits(tiny_model.tokenizer, tiny_model.config["context_length"])
    cut = _window_raw(long, tiny_model)
    assert all(fits(p.caption) for p in cut)
    assert all(p.caption.split()[:3] == q.caption.split()[:3] for p, q in zip(cut, long, strict=True))
    assert any(len(p.caption) < len(q.caption) for p, q in zip(cut, long, strict=True))


def test_free_form_queries_are_scored_beside_the_class_queries(
    mini_records, tuned_checkpoint, home, tmp_path
):
    """Each free-form query gets its class's precision@10; a class's figure is its queries' mean and
    the headline the mean over classes. Asking a class's own class query as a free-form query
    reproduces that class's P@10 exactly."""
    from training.evaluate.queries import class_query, load_freeform

    pairs = pairs_of(mini_records)
    labels = sorted({r.label for r in mini_records if r.label})
    queries = {lbl: [class_query(lbl), f"pictures showing {lbl.replace('_', ' ')}"] for lbl in labels}
    queries["no_such_class"] = ["never asked"]
    path = tmp_path / "queries.json"
    path.write_text(json.dumps({"queries": queries}))
    specs = [ModelSpec("tuned", str(tuned_checkpoint))]
    metrics = evaluate_pairs(specs, pairs, tmp_path / "out", seed=1, freeform=load_freeform(path))

    m = metrics["models"]["tuned"]
    free = m["freeform"]
    assert set(free["classes"]) == set(labels) and free["n_queries"] == 2 * len(labels)
    for lbl in labels:
        asked = free["classes"][lbl]["queries"]
        assert asked[class_query(lbl)] == pytest.approx(m["classes"][lbl]["precision_at_10"])
        assert free["classes"][lbl]["precision_at_10"] == pytest.approx(sum(asked.values()) / 2)
    assert free["precision_at_10"] == pytest.approx(
        sum(c["precision_at_10"] for c in free["classes"].values()) / len(labels)
    )
    lo, hi = m["ci95"]["freeform.precision_at_10"]
    assert lo <= free["precision_at_10"] <= hi
    assert set(metrics["freeform_queries"]) == set(labels)
    html = (tmp_path / "out" / "report.html").read_text()
    assert "free-form P@10" in html and "Free-form queries: precision@10 per class" in html


def test_a_malformed_free_form_file_is_refused(tmp_path):
    from training.evaluate.queries import load_freeform

    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"queries": ["a list, not a mapping"]}))
    with pytest.raises(ValueError, match="expected"):
        load_freeform(path)
