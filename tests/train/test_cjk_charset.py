"""The zh-en charset: every GB2312 hanzi once, ASCII kept at the English pack's indices."""
from __future__ import annotations

import string

from edgeocr.ctc import greedy_decode
from edgeocr.train.charset import gb2312_hanzi, is_hanzi, latin_charset, write_charset, zh_en_charset

import numpy as np


def test_gb2312_has_its_6763_hanzi_and_nothing_else():
    hanzi = gb2312_hanzi()
    assert len(hanzi) == 6763
    assert len(set(hanzi)) == 6763
    assert all(is_hanzi(ch) for ch in hanzi)
    # First of level 1, last of level 1, first of level 2, last of level 2.
    assert hanzi[0] == "啊" and hanzi[3754] == "座" and hanzi[3755] == "亍" and hanzi[-1] == "齄"


def test_zh_en_charset_is_unique_and_covers_what_receipts_print():
    chars = zh_en_charset()
    assert len(chars) == len(set(chars))
    assert 6900 < len(chars) < 7000
    assert chars[: len(latin_charset())] == latin_charset()  # English classes keep their indices
    for ch in string.printable.strip() + " ¥￥€£°×÷±…—·《》「」『』【】、。，：；！？（）“”‘’":
        assert ch in chars, ch
    assert all(len(ch) == 1 for ch in chars)


def test_charset_file_round_trips_and_blank_is_class_zero(tmp_path):
    chars = zh_en_charset()
    path = tmp_path / "charset.txt"
    write_charset(chars, path)
    assert path.read_text(encoding="utf-8").split("\n")[:-1] == chars
    # Class i + 1 is chars[i]; class 0 is the CTC blank: a one-hot path decodes to the text.
    text = "合计¥12.50元 OK"
    ids = [chars.index(ch) + 1 for ch in text]
    steps = []
    for i in ids:
        steps += [i, 0]
    probs = np.eye(len(chars) + 1, dtype=np.float32)[steps]
    assert greedy_decode(probs, chars).text == text
