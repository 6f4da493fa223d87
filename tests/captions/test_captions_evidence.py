"""Evidence and refusals: every extracted term keeps the words that produced it; placeholders and
near-empty abstracts are recorded as skipped, with a reason, on both databases; ``paperclip
caption --explain`` prints the evidence."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import select

from paperclip.db import session_scope
from paperclip.mentions import evidence
from paperclip.schema import Caption, Proposal
from training.captions.extract import NothingFound, Unsummarisable, explain, extract, unsummarisable
from training.captions.run import run_captions

SNR_ABSTRACT = (
    "We will image twelve young supernova remnants (SNRs) in M33 in H-alpha and [S II] with WFC3. The SNRs "
    "span a range of ambient densities, so their shock velocities probe the interaction of the blast wave "
    "with the interstellar medium; a signal-to-noise ratio (S/N) of 10 per pixel is reached in 2 orbits."
)
PLACEHOLDERS = [
    "TBD",
    "tbd.",
    "N/A",
    "ABSTRACT section not present",
    "Abstract not available",
    "To be provided later.",
    "Placeholder",
    "none",
    "-",
    "See proposal.",
]


def test_every_term_keeps_the_span_that_produced_it():
    title = "Shocks in the young supernova remnants of M33"
    found = explain(SNR_ABSTRACT, title)
    assert found.summary.objects_and_phenomena[0] == "supernova remnants"
    chosen = set(found.summary.objects_and_phenomena) | set(found.summary.science_use_cases)
    assert {e.term for e in found.evidence} == chosen
    for e in found.evidence:
        source = title if e.field == "title" else SNR_ABSTRACT
        assert source[e.start : e.end] == e.text, e
    rules = {(e.term, e.text): e.rule for e in found.evidence}
    assert rules[("supernova remnants", "SNRs")] == "acronym defined as 'supernova remnants'"
    assert rules[("shock physics", "shock velocities")] == "phrase"
    assert rules[("nearby galaxies", "M33")] == "name"
    assert any(e.field == "title" for e in found.evidence)
    assert found.as_json()[0].keys() == {"term", "kind", "text", "start", "end", "field", "rule"}


def test_implied_terms_say_so():
    found = explain("Internal flat fields are obtained every month with the tungsten lamp in all filters.")
    assert found.summary.text == "flat field exposures, internal lamp exposures; flat field calibration"
    (implied,) = [e for e in found.evidence if e.field == "implied"]
    assert implied.term == "flat field calibration" and implied.rule == "implied by 'flat field exposures'"
    assert implied.start is None
    dark = "Dark frames of the detector are taken after every SAA passage."
    assert explain(dark).summary.science_use_cases == ["dark current calibration"]  # implied by dark frames
    assert explain(dark, category="CAL/WFC3").summary.science_use_cases == ["instrument calibration"]
    europa = "We will image the surface of Europa at five longitudes with the planetary camera."
    assert extract(europa).science_use_cases == ["surface mapping"]  # what a moon is imaged for
    assert extract(europa, category="CAL").science_use_cases == ["instrument calibration"]  # category first


@pytest.mark.parametrize("text", PLACEHOLDERS)
def test_placeholders_are_refused(text):
    refused = unsummarisable(text)
    assert refused is not None and refused.reason == "placeholder"
    with pytest.raises(Unsummarisable):
        extract(text, title="Deep imaging of spiral galaxies")  # even an informative title gets no summary


def test_near_empty_abstracts_are_refused_and_short_real_ones_are_not():
    near_empty = unsummarisable("Calibration of WFC3.")
    assert near_empty is not None and near_empty.reason == "near_empty" and "3 words" in str(near_empty)
    short = "Monthly dark frames monitor the STIS CCD hot pixels."
    assert unsummarisable(short) is None
    assert extract(short).text == "dark frames, hot pixels; dark current calibration"
    with pytest.raises(NothingFound):
        extract("We request orbits for this program and its parallels.")


def test_evidence_for_the_ui_is_the_extractors_first_mention():
    ui = evidence(SNR_ABSTRACT, None, ["supernova remnants", "shock physics", "an LLM term"])
    assert ui == {"supernova remnants": "young supernova remnants", "shock physics": "shock velocities"}
    assert evidence(None, None, ["galaxies"]) == {}


def _add(db_url, rows: dict[str, str]) -> None:
    with session_scope(db_url) as s:
        for pid, abstract in rows.items():
            s.add(Proposal(collection="T", proposal_id=pid, title=f"Proposal {pid}", abstract=abstract))


def test_run_records_skips_with_a_reason_and_stores_evidence(env, db_url):
    _add(
        db_url,
        {"snr": SNR_ABSTRACT, "tbd": "TBD", "missing": "ABSTRACT section not present", "tiny": "Dark."},
    )
    first = run_captions(progress=False)
    assert (first.proposals, first.generated, first.failed) == (4, 1, 0)
    assert first.skipped == {"placeholder": 2, "near_empty": 1} and first.coverage == 1.0
    assert (
        "skipped (placeholder or near-empty abstract, no caption): 2 placeholder, 1 near_empty"
        in first.report()
    )
    assert first.raw == 1
    with session_scope(db_url) as s:
        rows = {
            (pid, c.kind): c
            for pid, c in s.execute(select(Proposal.proposal_id, Caption).join(Caption)).all()
        }
        for pid, reason in (("tbd", "placeholder"), ("missing", "placeholder"), ("tiny", "near_empty")):
            for kind in ("raw", "summary"):
                c = rows[(pid, kind)]
                assert (c.status, c.reason, c.text, c.evidence) == ("skipped", reason, None, None), (
                    pid,
                    kind,
                )
        ok = rows[("snr", "summary")]
        assert ok.status == "ok" and ok.reason is None
        assert {e["term"] for e in ok.evidence} == set(ok.text.replace(";", ",").split(", "))
        assert all(
            SNR_ABSTRACT[e["start"] : e["end"]] == e["text"] for e in ok.evidence if e["field"] == "abstract"
        )
    again = run_captions(progress=False)
    assert (again.generated, again.cached, again.failed, again.skipped.total()) == (0, 1, 0, 3)


def test_explain_command_prints_the_evidence(env, db_url):
    _add(db_url, {"snr": SNR_ABSTRACT, "tbd": "TBD"})
    cmd = [sys.executable, "-m", "paperclip_cli", "caption"]

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*cmd, *args], env=env, capture_output=True, text=True, timeout=120)

    live = run("--explain", "snr")
    assert live.returncode == 0, live.stderr
    assert "computed now, not stored" in live.stdout and "«SNRs»" in live.stdout
    assert run().returncode == 0
    out = run("--explain", "snr", "--collection", "T")
    assert out.returncode == 0, out.stderr
    assert "extractor evidence (as stored):" in out.stdout
    assert "supernova remnants" in out.stdout and "acronym defined as 'supernova remnants'" in out.stdout
    assert "with WFC3. The «SNRs» span a range" in out.stdout  # the defining "(SNRs)" is no extra mention
    assert "shock physics" in out.stdout and "so their «shock velocities» probe" in out.stdout
    skipped = run("--explain", "tbd")
    assert "summary/extract" in skipped.stdout and "skipped: placeholder" in skipped.stdout
    missing = run("--explain", "nope")
    assert missing.returncode == 2 and "no proposal 'nope'" in missing.stderr
