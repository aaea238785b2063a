"""bundle.py: what a bare accelerator needs to render zh-en lines, subset to the charset."""
from __future__ import annotations

import random
from pathlib import Path

import pytest

pytest.importorskip("fontTools", reason="bundling needs the [train] extra (fonttools)")

from edgeocr.train.bundle import build_bundle  # noqa: E402
from edgeocr.train.corpus import english_words, write_wordlist  # noqa: E402
from edgeocr.train.corpus_zh import chinese_words  # noqa: E402
from edgeocr.train.fonts import (CJK_TRAIN_FACES, FONT_ROOT, LATIN_TRAIN_GLOBS, FontFace, find_faces,  # noqa: E402
                                 find_fonts)
from edgeocr.train.render import font_covers, render_line  # noqa: E402

MICROHEI = FontFace(FONT_ROOT / "truetype/wqy/wqy-microhei.ttc", 0)
DEJAVU = FONT_ROOT / "truetype/dejavu/DejaVuSans.ttf"


@pytest.mark.skipif(not MICROHEI.path.exists(), reason="no CJK training font (apt fonts-wqy-microhei)")
def test_bundle_keeps_layout_and_only_the_charset(tmp_path):
    written = build_bundle([MICROHEI, DEJAVU], list("合计元0123456789AB."), tmp_path)
    assert {p.relative_to(tmp_path).as_posix() for p in written} == {
        "truetype/wqy/wqy-microhei.face0.otf", "truetype/dejavu/DejaVuSans.ttf"}
    assert sum(p.stat().st_size for p in written) < 0.1 * (MICROHEI.path.stat().st_size + DEJAVU.stat().st_size)
    faces = find_faces(CJK_TRAIN_FACES, tmp_path)  # the fonts.py globs find the bundled face
    assert [f.path.name for f in faces] == ["wqy-microhei.face0.otf"]
    assert find_fonts(LATIN_TRAIN_GLOBS, tmp_path) == [tmp_path / "truetype/dejavu/DejaVuSans.ttf"]
    assert font_covers(faces[0], "合计 12.50元")
    assert not font_covers(faces[0], "金额")  # cut out of the bundle: reported missing, not drawn as boxes
    image = render_line("合计12.50元", faces[0], random.Random(0), 32)
    assert image.shape[0] == 32 and image.shape[1] > 64


def test_bundle_refuses_reserved_fonts(tmp_path):
    with pytest.raises(ValueError, match="reserved for evaluation"):
        build_bundle([FontFace(FONT_ROOT / "truetype/arphic/ukai.ttc", 0)], list("合计"), tmp_path)
    assert not any(tmp_path.iterdir())


def test_bundled_word_lists_replace_wordfreq(tmp_path, monkeypatch):
    write_wordlist(("alpha", "beta"), tmp_path / "en.txt")
    write_wordlist(("合计", "金额", "发票"), tmp_path / "zh.txt")
    monkeypatch.setenv("EDGEOCR_WORDLISTS", str(tmp_path))
    assert english_words.__wrapped__() == ("alpha", "beta")
    assert chinese_words.__wrapped__(limit=2) == ("合计", "金额")
