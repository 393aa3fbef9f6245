"""The mistakes catalogue of exercises 04 to 08 (tests/catalogue_NN.py), judged as in
tests/test_mistakes.py. 09 and 10, the slowest to judge, have files of their own, so that
pytest's workers (one per file) share the catalogue out."""

from __future__ import annotations

import pytest

from catalogue import ANSWERS
from test_mistakes import ids, judge


@pytest.mark.parametrize("answer", [a for a in ANSWERS if "03" < a.exercise < "09"], ids=ids)
async def test_catalogue(answer, tmp_path, server):
    await judge(answer, tmp_path, server)
