"""The mistakes catalogue of exercise 13 (tests/catalogue_13.py), judged as in tests/test_mistakes.py."""

from __future__ import annotations

import pytest

from catalogue import ANSWERS
from test_mistakes import ids, judge


@pytest.mark.parametrize("answer", [a for a in ANSWERS if a.exercise == "13"], ids=ids)
async def test_catalogue(answer, tmp_path, server):
    await judge(answer, tmp_path, server)


def test_catalogue_13_is_big_enough():
    """Issue 20: at least 20 wrong answers and 8 right ones, the right ones whole designs."""
    answers = [a for a in ANSWERS if a.exercise == "13"]
    assert sum(a.wrong for a in answers) >= 20 and sum(not a.wrong for a in answers) >= 8
