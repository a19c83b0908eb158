"""liftflow.verdict: one reason code per job, from the physics' figures; which codes fail."""

import pytest

from liftflow import verdict as v


@pytest.mark.parametrize("total, tracked, analysed, rng, reps, code", [
    (110, 110, 110, 0.6, 3, v.OK),
    (110, 110, 110, 0.6, 0, v.NO_REPS),
    (110, 110, 110, 0.01, 0, v.NO_MOTION),
    (110, 110, 110, None, 0, v.NO_MOTION),
    (110, 40, 40, 0.6, 1, v.PLATE_LOST),  # 36% usable: partial, still read
    (110, 40, 40, 0.0, 0, v.PLATE_LOST),  # lost first: the lost part may be where it moved
    (110, 1, 0, None, 0, v.TOO_FEW_TRACKED_FRAMES),  # the front-view clip of issue #18
    (110, 10, 10, 0.3, 0, v.TOO_FEW_TRACKED_FRAMES),  # 9% usable
    (1800, 150, 150, 0.6, 1, v.PLATE_LOST),  # 8%, but a whole rep in them: worth reading
    (110, 30, 0, None, 0, v.TOO_FEW_TRACKED_FRAMES),  # tracked, but in runs too short for a velocity
    (110, 0, 0, None, 0, v.PLATE_NOT_FOUND),
])
def test_judge_gives_one_code_per_case(total, tracked, analysed, rng, reps, code):
    got = v.judge(total, tracked, analysed, rng, reps)
    assert got.code == code and got.message
    assert got.fails == (code in (v.TOO_FEW_TRACKED_FRAMES, v.PLATE_NOT_FOUND))
    assert got.to_dict() == {"code": code, "message": got.message}


def test_the_failing_codes_are_those_with_nothing_to_read():
    assert v.FAILING == {v.TOO_FEW_TRACKED_FRAMES, v.PLATE_NOT_FOUND, v.NO_PLATE_DETECTED}
    assert set(v.CODES) == {v.OK, v.NO_REPS, v.NO_MOTION, v.PLATE_LOST, *v.FAILING}


def test_messages_say_what_to_change():
    assert "side" in v.judge(110, 1, 0, None, 0).message  # film from the side
    assert "1 of 110 frames" in v.judge(110, 1, 0, None, 0).message
    assert "seed circle" in v.judge(110, 0, 0, None, 0).message
    assert "in view" in v.judge(110, 40, 40, 0.6, 1).message


def test_unknown_code_is_refused_and_the_definition_lists_every_code():
    with pytest.raises(ValueError, match="unknown verdict code"):
        v.Verdict("fine", "")
    text = v.definition()
    for code, (fails, _) in v.CODES.items():
        assert f"{code} ({'job fails' if fails else 'job completes'})" in text
