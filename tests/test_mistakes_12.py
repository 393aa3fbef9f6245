"""The mistakes catalogue of exercise 12 (tests/catalogue_12.py), judged as in tests/test_mistakes.py."""

from __future__ import annotations

import pytest

from catalogue import ANSWERS
from test_mistakes import ids, judge


@pytest.mark.parametrize("answer", [a for a in ANSWERS if a.exercise == "12"], ids=ids)
async def test_catalogue(answer, tmp_path, server):
    await judge(answer, tmp_path, server)
