"""continuo.SessionLibrary: which earlier sessions resemble this one, on sessions built in code."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import json
import pathlib
import pickle

import numpy as np
import pytest

import continuo
from synthetic_music import two_voice

DAY = dt.timedelta(days=1)
MAY_1 = dt.datetime(2024, 5, 1, 18, 0, tzinfo=dt.timezone.utc)


def piece(seed: int, events: int = 120) -> tuple[np.ndarray, np.ndarray]:
    """Onsets (in beats) and pitches of a random two-voice piece: the same seed is the same music."""
    return two_voice(seed, events)


def session(seed: int, bpm: float, first: float = 0.0, last: float = 1.0, wrong: int = 0) -> continuo.Performance:
    """Plays the share [first, last) of piece(seed) at `bpm`, with `wrong` notes a semitone off."""
    beats, pitch = piece(seed)
    lo, hi = int(first * len(beats)), int(last * len(beats))
    beats, pitch = beats[lo:hi] - beats[lo], pitch[lo:hi].copy()
    rng = np.random.default_rng(seed * 100 + int(bpm))
    pitch[rng.integers(0, len(pitch), size=wrong)] += 1
    onset = beats * 60.0 / bpm
    return continuo.from_notes({"onset_s": onset, "offset_s": onset + 0.1, "pitch": pitch, "velocity": 70})


def week() -> continuo.SessionLibrary:
    """Six days: pieces 1 and 2 alternate, each session a different tempo and part of the piece."""
    library = continuo.SessionLibrary()
    plan = [(1, 70, 0.0, 0.8), (2, 90, 0.0, 1.0), (1, 80, 0.2, 1.0), (2, 100, 0.1, 0.9), (1, 90, 0.0, 1.0)]
    for day, (seed, bpm, first, last) in enumerate(plan):
        library.add(f"day{day + 1}", session(seed, bpm, first, last, wrong=3), start=MAY_1 + day * DAY)
    return library


def test_a_session_of_a_piece_is_nearest_to_the_other_sessions_of_that_piece() -> None:
    library = week()
    hits = library.similar("day5", k=4)
    assert [h.session_id for h in hits][:2] == ["day1", "day3"] or [h.session_id for h in hits][:2] == [
        "day3",
        "day1",
    ]
    assert {h.session_id for h in hits[2:]} == {"day2", "day4"}
    assert hits[0].similarity > 0.5 > hits[2].similarity
    assert all(a.similarity >= b.similarity for a, b in zip(hits, hits[1:]))
    # A new performance as the query, not stored.
    today = library.similar(session(2, 85, 0.3, 0.7), k=1)
    assert today[0].session_id in {"day2", "day4"}


def test_time_filters_keep_only_sessions_in_the_range() -> None:
    library = week()
    earlier = library.similar("day5", k=10, before=MAY_1 + 2 * DAY)
    assert [h.session_id for h in earlier] == ["day1", "day2"]
    assert earlier[0].start == MAY_1
    later = library.similar("day1", k=10, after=MAY_1 + 3 * DAY)
    assert {h.session_id for h in later} == {"day4", "day5"}
    assert library.similar("day1", k=10, before=MAY_1) == []
    # Nanoseconds since the epoch and naive datetimes (UTC) work too.
    ns = int((MAY_1 + 2 * DAY).timestamp()) * 1_000_000_000
    assert library.similar("day5", k=10, before=ns) == earlier
    assert library.similar("day5", k=10, before=(MAY_1 + 2 * DAY).replace(tzinfo=None)) == earlier


def test_add_replaces_remove_and_contents() -> None:
    library = week()
    assert len(library) == 5 and "day3" in library and "day9" not in library
    assert library.session_ids == ["day1", "day2", "day3", "day4", "day5"]
    library.add("day3", session(2, 95), start=MAY_1 + 2 * DAY)
    assert len(library) == 5
    assert library.similar("day3", k=1)[0].session_id in {"day2", "day4"}
    assert library.remove("day3") and not library.remove("day3")
    assert "day3" not in library and len(library.index) == 4
    vector = library.vector("day1")
    assert vector.shape == (1024,) and float(np.linalg.norm(vector)) == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(KeyError):
        library.start("day3")
    for k in (-1, -2, 1.5):
        with pytest.raises(ValueError, match="k must be a non-negative integer"):
            library.similar("day1", k=k)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        library.add("empty", session(1, 80, 0.5, 0.5), start=MAY_1)


def test_save_and_load_round_trip(tmp_path: pathlib.Path) -> None:
    library = week()
    path = tmp_path / "sessions.cntidx"
    library.save(path)
    assert (tmp_path / "sessions.cntidx.json").is_file()
    back = continuo.SessionLibrary.load(path)
    assert back.session_ids == library.session_ids
    assert back.similar("day5", k=4) == library.similar("day5", k=4)
    back.add("day6", session(2, 90), start=MAY_1 + 5 * DAY)  # ids continue after the stored ones
    assert back.similar("day6", k=1)[0].session_id in {"day2", "day4"} and len(back) == 6
    sidecar = (tmp_path / "sessions.cntidx.json").read_text()
    (tmp_path / "sessions.cntidx.json").write_text('{"format": "something else"}')
    with pytest.raises(ValueError):
        continuo.SessionLibrary.load(path)
    # A damaged sidecar: a next id already used would let the next add overwrite a session.
    stored = json.loads(sidecar)
    for field, value, match in (("next_id", 1, "next_id 1, an id already used"),
                                ("sessions", [1, 2], "is damaged: AttributeError")):
        broken = json.loads(sidecar)
        broken[field] = value
        (tmp_path / "sessions.cntidx.json").write_text(json.dumps(broken))
        with pytest.raises(ValueError, match=match):
            continuo.SessionLibrary.load(path)
    assert stored["next_id"] == 6


def test_threads_add_and_search_at_once_and_pickling_keeps_it_all() -> None:
    library = continuo.SessionLibrary()
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((40, 1024)).astype(np.float32)

    def add(i: int) -> None:
        library.add_vector(f"s{i}", vectors[i], start=MAY_1 + i * DAY)
        library.similar(vectors[i], k=3)

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(add, range(40)))
    assert len(library) == 40 and len(library.index) == 40
    for i in range(40):  # every name still finds its own vector
        assert library.similar(vectors[i], k=1)[0].session_id == f"s{i}"
    again = pickle.loads(pickle.dumps(library))
    assert again.session_ids == library.session_ids and again.similar("s3", k=2) == library.similar("s3", k=2)
    again.add_vector("s40", vectors[0], start=MAY_1)  # and the copy has a lock of its own


def test_int8_storage_and_the_invariant_mode() -> None:
    library = continuo.SessionLibrary(storage="int8", transposition_invariant=True)
    beats, pitch = piece(1)
    for i, shift in enumerate([0, 5]):
        onset = beats * 0.6
        perf = continuo.from_notes({"onset_s": onset, "offset_s": onset + 0.1, "pitch": pitch + shift, "velocity": 70})
        library.add(f"s{i}", perf, start=MAY_1 + i * DAY)
    library.add("other", session(2, 80), start=MAY_1 + 2 * DAY)
    hits = library.similar("s1", k=2)
    assert hits[0].session_id == "s0" and hits[0].similarity > 0.9
    with pytest.raises(ValueError):
        continuo.SessionLibrary(storage="float16")


def test_results_make_a_dataframe() -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(week().similar("day5", k=3))
    assert list(frame.columns) == ["session_id", "start", "similarity"] and len(frame) == 3
