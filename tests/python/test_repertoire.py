"""continuo.Repertoire: identification, localisation and session heatmaps from Python."""

from __future__ import annotations

import threading

import numpy as np
import numpy.typing as npt
import pytest

import continuo
from synthetic_music import melody_over_chords

BAR_S = 2.0  # 4/4 at 120 bpm


def piece(seed: int, bars: int = 40) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """A melody in uneven rhythm over a chord on each beat, drawn from `seed` (2 s bars)."""
    return melody_over_chords(seed, bars, BAR_S, [0.25, 0.25, 0.5, 0.5, 0.75, 1.0])


def excerpt(seed: int, first: int, last: int, at: float = 0.0, factor: float = 1.0, shift: int = 0) -> continuo.Performance:
    """Bars [first, last) (1-based) of piece `seed` as a performance starting at `at` seconds."""
    onset, pitch = piece(seed)
    keep = (onset >= (first - 1) * BAR_S) & (onset < (last - 1) * BAR_S)
    t = at + (onset[keep] - (first - 1) * BAR_S) / factor
    return continuo.from_notes({"onset_s": t, "offset_s": t + 0.2, "pitch": pitch[keep] + shift})


def repertoire(invariant: bool = False, fusion: bool | None = None) -> continuo.Repertoire:
    rep = continuo.Repertoire(transposition_invariant=invariant, fusion=fusion)
    for k in range(5):
        onset, pitch = piece(k + 1)
        assert rep.add_notes(f"piece {k}", onset, pitch, np.arange(40) * BAR_S) == k
    return rep


def test_identifies_and_locates_an_excerpt() -> None:
    rep = repertoire()
    take = excerpt(3, 11, 21, at=5.0)
    found = rep.identify(take)
    assert found.known and found.piece == 2 and found.name == "piece 2"
    assert found.confidence > 0.8 and found.tempo_ratio == pytest.approx(1.0, abs=0.05)
    assert found.where is not None and found.where.first_bar == pytest.approx(11.0, abs=0.5)
    (passage,) = rep.locate(take, found.piece)
    assert passage.bars == (11, 20)
    assert passage.query_start_s == pytest.approx(5.0)
    assert list(found.to_pandas()["name"])[0] == "piece 2"


def test_places_the_start_and_tempo_of_a_long_slowing_excerpt() -> None:
    rep = repertoire()
    onset, pitch = piece(2)
    keep = (onset >= 4 * BAR_S) & (onset < 24 * BAR_S)
    u = onset[keep] - 4 * BAR_S
    t = u * (1.0 + 0.0125 * u)  # slows to two thirds of the tempo over 40 s
    placements = rep.locate_notes(t, pitch[keep], 1)
    assert placements and placements[0].first_bar == pytest.approx(5.0, abs=0.25)
    assert placements[-1].last_bar == pytest.approx(24.9, abs=0.5)
    # The tempo is the fitted slope: the mean tempo, between the first and the last.
    assert 0.67 < placements[0].tempo_ratio < 1.0


def test_measures_the_tempo_of_a_slower_excerpt_and_slices_by_time() -> None:
    rep = repertoire()
    take = excerpt(2, 5, 15, factor=0.7)
    found = rep.identify(take, start_s=0.0, end_s=20.0)
    assert found.piece == 1 and found.tempo_ratio == pytest.approx(0.7, abs=0.03)


def test_reports_an_unregistered_piece_as_unknown() -> None:
    rep = repertoire()
    found = rep.identify(excerpt(99, 1, 16))
    assert not found.known and found.piece is None and found.where is None and found.confidence == 0.0


def two_restarts(seed: int) -> continuo.Performance:
    """Bars 11-12 of piece `seed` played three times, each after a 1.5-s pause: three 2-s stretches."""
    parts = [excerpt(seed, 11, 12, at=at).notes for at in (0.0, 3.5, 7.0)]
    onset = np.concatenate([np.asarray(p["onset_s"]) for p in parts])
    pitch = np.concatenate([np.asarray(p["pitch"]) for p in parts])
    return continuo.from_notes({"onset_s": onset, "offset_s": onset + 0.2, "pitch": pitch})


def fused_repertoire(min_score: float | None = None) -> continuo.Repertoire:
    rep = continuo.Repertoire(min_score=min_score, fusion=True, min_score_per_event=0.0)
    for k in range(5):
        onset, pitch = piece(k + 1)
        rep.add_notes(f"piece {k}", onset, pitch, np.arange(40) * BAR_S)
    return rep


def test_fusion_finds_a_query_with_two_restarts_the_votes_leave_unknown() -> None:
    # A bar of these made-up pieces gives about a hundred consistent matches, so the threshold is raised
    # until each 2-s stretch falls short of it, as a sparse stretch of a real piece falls short of 12;
    # the scaled threshold, which each stretch would pass, is turned off.
    votes = continuo.Repertoire(min_score=200, fusion=False, min_score_per_event=0.0)
    for k in range(5):
        onset, pitch = piece(k + 1)
        votes.add_notes(f"piece {k}", onset, pitch, np.arange(40) * BAR_S)
    take = two_restarts(4)
    alone = votes.identify(take)
    assert not alone.known and alone.alternatives[0].name == "piece 3" and not alone.by_fusion
    found = fused_repertoire(min_score=200).identify(take)
    assert found.known and found.name == "piece 3" and found.by_fusion
    assert found.similarity_margin >= continuo._core.REPERTOIRE_DEFAULTS["fusion_min_margin"]


def test_fusion_keeps_an_unregistered_piece_unknown() -> None:
    rep, votes = fused_repertoire(), scaled_repertoire(0.0)
    for seed in range(100, 105):
        assert not rep.identify(excerpt(seed, 1, 16)).known
        # The fusion accepts nothing here; the votes alone take one of these 6-s loops (seed 104) for
        # a piece, and the fusion leaves their decisions as they are.
        found = rep.identify(two_restarts(seed))
        assert not found.by_fusion and found.known == votes.identify(two_restarts(seed)).known, seed


def scaled_repertoire(min_score_per_event: float) -> continuo.Repertoire:
    # The thresholds alone: the fusion would confirm some of the same queries.
    rep = continuo.Repertoire(min_score_per_event=min_score_per_event, fusion=False)
    for k in range(5):
        onset, pitch = piece(k + 1)
        rep.add_notes(f"piece {k}", onset, pitch, np.arange(40) * BAR_S)
    return rep


def test_scaled_threshold_finds_a_sparse_query_the_fixed_one_leaves_unknown() -> None:
    fixed, scaled = scaled_repertoire(0.0), scaled_repertoire(0.05)
    defaults = continuo._core.REPERTOIRE_DEFAULTS
    onset, pitch = piece(5)
    found_only_by_scaled = 0
    for bar in range(40):  # the melody alone over the first second of each bar: 3-6 notes
        keep = (onset >= bar * BAR_S) & (onset < bar * BAR_S + 1.0) & (pitch >= 64)
        alone = fixed.identify_notes(onset[keep], pitch[keep])
        found = scaled.identify_notes(onset[keep], pitch[keep])
        assert found.query_events == alone.query_events == len(np.unique(onset[keep]))
        if alone.known:
            assert found == alone
            continue
        scores = [a.score for a in alone.alternatives] + [0.0, 0.0]
        best, other = scores[0], scores[1]
        if best < max(defaults["min_scaled_score"], 0.05 * alone.query_events) or best < defaults["min_scaled_score_ratio"] * other:
            assert not found.known
            continue
        found_only_by_scaled += 1
        assert best < defaults["min_score"]
        assert found.known and found.name == "piece 4" and found.score == best and found.where is not None
    assert found_only_by_scaled >= 5


def test_scaled_threshold_keeps_an_unregistered_piece_unknown() -> None:
    # These made-up pieces collide far more than real music: the fixed threshold itself takes a 5-bar
    # excerpt of piece 103 for piece 3 (15.8 consistent matches). The scaled one adds none.
    fixed, rep = scaled_repertoire(0.0), scaled_repertoire(0.05)
    unknown = 0
    for seed in range(100, 106):
        for take in (excerpt(seed, 1, 16), excerpt(seed, 11, 16), excerpt(seed, 21, 24), two_restarts(seed)):
            alone, found = fixed.identify(take), rep.identify(take)
            assert found.known == alone.known, (seed, found.name, found.score, found.query_events)
            unknown += not found.known
    assert unknown >= 20


def test_matches_a_transposed_copy_only_in_the_invariant_mode() -> None:
    take = excerpt(4, 9, 19, shift=-5)
    assert repertoire(invariant=True).identify(take).piece == 3
    assert not repertoire().identify(take).known


def test_counts_bar_plays_over_a_session() -> None:
    rep = repertoire()
    onset, pitch = piece(2)
    parts = []
    for k, (first, last) in enumerate([(11, 17), (11, 17), (30, 34)]):
        keep = (onset >= (first - 1) * BAR_S) & (onset < (last - 1) * BAR_S)
        parts.append((onset[keep] - (first - 1) * BAR_S + 30.0 * k, pitch[keep]))
    t = np.concatenate([p[0] for p in parts])
    day = continuo.from_notes({"onset_s": t, "offset_s": t + 0.2, "pitch": np.concatenate([p[1] for p in parts])})
    analysis = rep.session_heatmap(day)
    assert len(analysis.attempts) == 3 and all(a.identification.piece == 1 for a in analysis.attempts)
    (heat,) = analysis.heatmaps
    assert heat.piece == 1 and len(heat.plays) == 41
    assert list(heat.plays[11:17]) == [2] * 6 and list(heat.plays[30:34]) == [1] * 4 and heat.plays.sum() == 16
    table = analysis.to_pandas()
    assert list(table["first_bar"].round()) == [11, 11, 30]


def test_registers_a_performance_with_its_time_signature_bars() -> None:
    onset, pitch = piece(1, bars=8)
    perf = continuo.from_notes(
        {"onset_s": onset, "offset_s": onset + 0.2, "pitch": pitch},
        time_signatures={"tick": [0], "numerator": [3], "denominator": [4]},
    )
    np.testing.assert_allclose(continuo.bar_grid(perf)[:4], [0.0, 1.5, 3.0, 4.5])
    rep = continuo.Repertoire()
    piece_id = rep.add("waltz", perf)
    assert rep.pieces == ("waltz",) and len(rep) == 1
    assert rep.bar_at(piece_id, 2.25) == pytest.approx(2.5)
    np.testing.assert_allclose(rep.downbeats(piece_id)[:2], [0.0, 1.5])


def test_queries_from_two_threads_agree_with_one() -> None:
    rep = repertoire()
    takes = [excerpt(k % 5 + 1, 3 + k, 13 + k) for k in range(6)]
    one = [rep.identify(t) for t in takes]
    two: dict[int, continuo.Identification] = {}

    def run(indices: range) -> None:
        for i in indices:
            two[i] = rep.identify(takes[i])

    threads = [threading.Thread(target=run, args=(range(k, 6, 2),)) for k in (0, 1)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert [two[i] for i in range(6)] == one


def test_rejects_bad_input_clearly() -> None:
    rep = repertoire()
    with pytest.raises(ValueError, match="not finite or not sorted"):
        rep.add_notes("bad", [1.0, 0.5], [60, 62])
    with pytest.raises(IndexError):
        rep.locate_notes([0.0], [60], 7)
    with pytest.raises(ValueError):
        rep.identify_notes([0.0, 1.0], [60])
    assert not rep.identify_notes([], []).known
    assert not rep.identify_notes(np.full(1000, 3.0), np.full(1000, 60)).known


def drill_day(at_tempi: tuple[float, ...]) -> continuo.Performance:
    """Bars 9-13 of piece 4 drilled at each tempo factor, 8 s apart, after a run through bars 1-8 of piece 2."""
    parts = [excerpt(2, 1, 9)]
    t = 8 * BAR_S + 8.0
    for factor in at_tempi:
        parts.append(excerpt(4, 9, 14, at=t, factor=factor))
        t += 5 * BAR_S / factor + 8.0
    notes = [p.notes for p in parts]
    onset = np.concatenate([n["onset_s"] for n in notes])
    order = np.argsort(onset, kind="stable")
    return continuo.from_notes({
        "onset_s": onset[order],
        "offset_s": np.concatenate([n["offset_s"] for n in notes])[order],
        "pitch": np.concatenate([n["pitch"] for n in notes])[order],
    })  # fmt: skip


def test_places_a_passage_found_without_a_score_in_the_piece_registered_later() -> None:
    days = [("mon", 0.0, drill_day((0.8, 0.85))), ("tue", 86_400.0, drill_day((0.9, 1.0)))]
    found = [p for p in continuo.passages(days) if {o.session for o in p.occurrences} == {"mon", "tue"}]
    assert found, "the drilled bars are found as one passage across both days"
    drilled = max(found, key=lambda p: len(p.occurrences))
    placed = repertoire().place(drilled, days)
    assert placed.name == "piece 3" and placed.piece == 3
    assert placed.first_bar == pytest.approx(9.0, abs=1.0) and placed.last_bar == pytest.approx(13.0, abs=1.0)
    assert all(p is not None for p in placed.placements)
    frame = placed.to_pandas()
    assert list(frame["session"]) == [o.session for o in drilled.occurrences] and frame["first_bar"].notna().all()
    unknown = continuo.Repertoire()
    unknown.add_notes("other", *piece(9), np.arange(40) * BAR_S)
    assert unknown.place(drilled, days).piece is None
    with pytest.raises(ValueError, match="session 'mon' is not among"):
        repertoire().place(drilled, days[1:])
