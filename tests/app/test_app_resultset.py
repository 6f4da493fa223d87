"""Ordering a result set: modes, cone distance, sorts, grouping by proposal, facets."""

from __future__ import annotations

import numpy as np

from app.ranking import by_distance, combine, facet_counts, group_by_proposal, int_facet, sort_rows, text_rows

PROPOSAL = np.array([10, 10, 20, 20, 30, 30, 30])  # the proposal of each row


def test_text_rows_follow_the_proposal_ranking_and_the_filters():
    assert text_rows(PROPOSAL, [30, 10], None) == [[4, 5, 6], [0, 1]]
    allowed = np.array([True, False, True, True, False, True, True])
    assert text_rows(PROPOSAL, [30, 10, 99], allowed) == [[5, 6], [0]]
    assert text_rows(PROPOSAL, [], None) == []


def test_modes():
    vector = [2, 5, 0, 6]
    text = [[4, 5, 6], [0, 1]]
    assert combine("vector", vector, text) == vector
    assert combine("text", vector, text) == [5, 6, 4, 0, 1]  # within a proposal, the vector order
    fused = combine("hybrid", vector, text)
    assert fused[0] == 5 and set(fused) == {0, 1, 2, 4, 5, 6}  # 5 is high in both


def test_cone_ranks_by_distance_within_the_filters():
    d = np.array([0.5, np.nan, 0.1, 0.3, np.nan, 0.05, 0.2])
    assert by_distance(d, None) == [5, 2, 6, 3, 0]
    assert by_distance(d, np.array([True] * 5 + [False, True])) == [2, 6, 3, 0]


def test_sorts_put_unknown_last():
    mjd = np.array([60000.0, np.nan, 60010.0, 59000.0, 1, 2, 3])
    exposure = np.array([100.0, 2000.0, np.nan, 5.0, 0, 0, 0])
    assert sort_rows([0, 1, 2, 3], "date", mjd, exposure) == [2, 0, 3, 1]
    assert sort_rows([0, 1, 2, 3], "exposure", mjd, exposure) == [1, 0, 3, 2]
    assert sort_rows([3, 1], "relevance", mjd, exposure) == [3, 1]


def test_grouping_keeps_the_best_first():
    groups = group_by_proposal([5, 2, 0, 6, 3, 4], PROPOSAL)
    assert [(g.proposal, g.best, g.more) for g in groups] == [(30, 5, [6, 4]), (20, 2, [3]), (10, 0, [])]


def test_facets_count_the_result_set():
    codes = np.array([0, 1, 1, -1, 2, 1, 0])
    assert facet_counts([0, 1, 2, 3, 5], codes, ["ACS/WFC", "WFC3/UVIS", "WFPC2"]) == [
        ("WFC3/UVIS", 3),
        ("ACS/WFC", 1),
    ]
    null = np.iinfo(np.int64).min
    cycles = np.array([25, 25, 26, null, 25, 26, 30])
    assert int_facet(range(7), cycles, null) == [("25", 3), ("26", 2), ("30", 1)]
    assert facet_counts([], codes, ["x"]) == [] and int_facet([], cycles, null) == []
