"""zh-en training data: reserved fonts refused, hanzi lines render, the corpus is deterministic and covers what it should."""
from __future__ import annotations

import random
import string
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from edgeocr.train.charset import gb2312_hanzi, is_hanzi, zh_en_charset
from edgeocr.train.corpus_zh import chinese_words, sample_zh_en_line, tax_code
from edgeocr.train.dataset import RenderedLines
from edgeocr.train.fonts import (CJK_EVAL_FACES, CJK_TRAIN_FACES, FONT_ROOT, FontFace, cjk_training_fonts,
                                 find_faces, is_reserved_font, refuse_reserved_fonts, zh_en_training_fonts)
from edgeocr.train.render import Degradation, font_covers, has_glyph, render_line

CHARSET = zh_en_charset()
HAVE_CJK_TRAIN_FONT = bool(find_faces(CJK_TRAIN_FACES))
needs_cjk_font = pytest.mark.skipif(not HAVE_CJK_TRAIN_FONT, reason="no CJK training font (apt fonts-wqy-microhei)")


def test_no_training_font_comes_from_the_reserved_packages():
    for pattern, _ in CJK_TRAIN_FACES:
        assert not is_reserved_font(Path(pattern)), pattern
    for face in zh_en_training_fonts() if HAVE_CJK_TRAIN_FONT else []:
        assert not is_reserved_font(face)
    for pattern, _ in CJK_EVAL_FACES:  # the check itself recognises both reserved families
        assert is_reserved_font(FontFace(FONT_ROOT / pattern))


def test_training_refuses_reserved_fonts(tmp_path):
    from edgeocr.train.train import TrainConfig, train

    reserved = FontFace(FONT_ROOT / "truetype/lxgw-wenkai/LXGWWenKai-Regular.ttf")
    with pytest.raises(ValueError, match="reserved for evaluation"):
        refuse_reserved_fonts([Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"), reserved])
    with pytest.raises(ValueError, match="reserved for evaluation"):
        train(TrainConfig(steps=1), tmp_path, charset=list("0123"), fonts=[reserved], log=lambda _: None)
    assert not (tmp_path / "last.pt").exists()


@needs_cjk_font
def test_a_hanzi_line_renders_with_a_training_font():
    face = cjk_training_fonts()[0]
    text = "合计¥12.50元"
    assert font_covers(face, text)
    image = render_line(text, face, random.Random(1), 32, Degradation(0.0))
    assert image.dtype == np.uint8 and image.shape[0] == 32
    assert image.shape[1] > 3 * 32, "nine characters should make a line several heights wide"
    ink = image < np.median(image) - 60
    assert 0.05 < ink.mean() < 0.6
    assert ink[:, : image.shape[1] // 3].any() and ink[:, -image.shape[1] // 3 :].any(), "ink along the whole line"


def test_missing_glyphs_are_detected_not_drawn_as_boxes():
    latin = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    assert font_covers(latin, "Total 12.50")
    assert not font_covers(latin, "合计")
    assert not has_glyph(str(latin), 0, "\u4e2d")


@needs_cjk_font
def test_dataset_moves_a_hanzi_line_to_a_font_that_draws_it():
    latin = [Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")] * 8
    fonts = latin + cjk_training_fonts()[:1]
    lines = RenderedLines(5, 10, CHARSET, fonts, lambda rng, cs: "发票号码 " + str(rng.randint(0, 99)), max_width=2048)
    for index in range(10):
        _, text = lines.sample(index)
        assert text.startswith("发票号码")  # kept whole: the one CJK face was found, not a Latin box font


def test_corpus_is_deterministic_from_seed_and_index():
    first = [sample_zh_en_line(random.Random(f"7:{i}"), CHARSET) for i in range(50)]
    again = [sample_zh_en_line(random.Random(f"7:{i}"), CHARSET) for i in range(50)]
    other = [sample_zh_en_line(random.Random(f"8:{i}"), CHARSET) for i in range(50)]
    assert first == again and first != other


def test_corpus_covers_hanzi_latin_digits_and_rare_characters():
    allowed = set(CHARSET)
    lines = [sample_zh_en_line(random.Random(i), CHARSET) for i in range(3000)]
    assert all(line and set(line) <= allowed and len(line) <= 32 for line in lines)
    chars = Counter("".join(lines))
    hanzi = {ch for ch in chars if is_hanzi(ch)}
    level2 = set(gb2312_hanzi()[3755:])  # the rarer half of GB2312
    assert len(hanzi) > 3000, "uniform draws should reach thousands of distinct hanzi"
    assert len(hanzi & level2) > 1000
    assert sum(chars[c] for c in string.ascii_letters) > 2000
    assert sum(chars[c] for c in string.digits) > 2000
    assert any("年" in line and "月" in line for line in lines)
    assert any(ch in chars for ch in "¥￥") and "元" in chars
    mixed = [line for line in lines if any(is_hanzi(c) for c in line) and any(c in string.ascii_letters for c in line)]
    assert len(mixed) > 100
    assert chinese_words()[0] == "的"  # frequency order


def test_tax_codes_include_unified_social_credit_codes():
    codes = [tax_code(random.Random(i)) for i in range(200)]
    uscc = [c for c in codes if len(c) == 18 and c[:8].isdigit()]
    assert len(uscc) > 30
    assert all(set(c[8:]) <= set("0123456789ABCDEFGHJKLMNPQRTUWXY") for c in uscc)
