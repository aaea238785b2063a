"""bench/evalsets.py: reserved-font evaluation lines are deterministic, legible and truthful."""
from __future__ import annotations

import numpy as np
import pytest

from edgeocr.train.charset import is_hanzi, zh_en_charset
from edgeocr.train.fonts import CJK_EVAL_FACES, FONT_ROOT, find_faces

# The reserved fonts are large packages that CI does not install; the test needs the real fonts.
pytestmark = pytest.mark.skipif(
    not find_faces(CJK_EVAL_FACES), reason="reserved eval fonts not installed (apt fonts-arphic-ukai fonts-lxgw-wenkai)"
)

from bench.evalsets import KINDS, render_eval_set  # noqa: E402


def test_same_seed_same_lines_other_seed_other_lines():
    first = render_eval_set("mixed", 6, seed=5)
    again = render_eval_set("mixed", 6, seed=5)
    other = render_eval_set("mixed", 6, seed=6)
    assert [t for _, t in first] == [t for _, t in again]
    assert all(np.array_equal(a, b) for (a, _), (b, _) in zip(first, again))
    assert [t for _, t in first] != [t for _, t in other]


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_renders_grayscale_lines_of_its_text(kind):
    lines = render_eval_set(kind, 8, degrade=False)
    allowed = set(zh_en_charset())
    assert len(lines) == 8
    for image, text in lines:
        assert image.dtype == np.uint8 and image.ndim == 2 and 30 <= image.shape[0] <= 48
        assert text and set(text) <= allowed
        ink = image < 128
        assert ink.mean() > 0.02, "nothing was drawn"
        # Wider text gives a wider image: a rough check that the image holds this text.
        assert image.shape[1] > 0.4 * image.shape[0] * len(text.replace(" ", "")) ** 0.5
    texts = "".join(t for _, t in lines)
    hanzi = sum(is_hanzi(ch) for ch in texts)
    if kind == "chinese":
        assert hanzi > 0.8 * len(texts)
    elif kind == "english":
        assert hanzi == 0
    elif kind == "numeric":  # dates and times may say 年月日/时分; the rest is digits and codes
        assert hanzi < 0.3 * len(texts)
        assert sum(ch.isdigit() for ch in texts) > 0.5 * len(texts)
    else:
        assert 0 < hanzi < len(texts)


def test_degradation_changes_pixels_not_text():
    clean = render_eval_set("english", 4, degrade=False)
    degraded = render_eval_set("english", 4, degrade=True)
    assert [t for _, t in clean] == [t for _, t in degraded]
    assert any(a.shape != b.shape or not np.array_equal(a, b) for (a, _), (b, _) in zip(clean, degraded))


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="kind must be one of"):
        render_eval_set("korean", 1)
