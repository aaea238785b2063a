"""The fast path: which lines the CRNN keeps, which go on, and the engine's results with it on.

The engine tests run the real shipped packs (en-latin-v2 first, ppocrv6-small after) on pages
drawn with real fonts; the Chinese page uses AR PL UKai, a font no shipped model was trained on.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from edgeocr.cascade import FOREIGN_MARK, FastPathParams, accepts, calibrated
from edgeocr.config import Config, ConfigError, load_config
from edgeocr.ctc import DecodedText
from edgeocr.errors import ModelPackError
from tests.rendering import encode, render_lines, render_text_page, reserved_cjk_font

WIDE = np.zeros((32, 320), dtype=np.uint8)


def reading(text: str, prob: float) -> DecodedText:
    return DecodedText(text, tuple(prob for _ in text))


def test_params_from_pack_need_a_threshold_and_say_where():
    with pytest.raises(ModelPackError, match="pack x.*not calibrated"):
        FastPathParams.from_pack({}, "pack x")
    with pytest.raises(ModelPackError, match="threshold in"):
        FastPathParams.from_pack({"threshold": 1.5}, "pack x")
    with pytest.raises(ModelPackError, match="three calibration"):
        FastPathParams.from_pack({"threshold": 0.9, "calibration": [1, 2]}, "pack x")
    params = FastPathParams.from_pack({"threshold": 0.9, "calibration": [1, 2, 3]}, "pack x", threshold=0.5)
    assert params.threshold == 0.5 and params.calibration == (1.0, 2.0, 3.0)


def test_a_sure_latin_reading_is_kept_and_doubt_is_not():
    params = FastPathParams(threshold=0.9)
    assert accepts(params, WIDE, reading("TOTAL 12.50", 0.99))
    assert not accepts(params, WIDE, reading("TOTAL 12.50", 0.8))
    assert not accepts(params, WIDE, reading("   ", 0.99))


def test_a_line_marked_as_another_script_always_goes_on():
    params = FastPathParams(threshold=0.0)
    assert not accepts(params, WIDE, reading(f"{FOREIGN_MARK}{FOREIGN_MARK} 12.50", 1.0))


def test_unusual_aspect_goes_on():
    params = FastPathParams(threshold=0.5, min_aspect=1.5, max_aspect=60)
    assert not accepts(params, np.zeros((32, 40), np.uint8), reading("8", 0.99))       # one glyph
    assert not accepts(params, np.zeros((10, 700), np.uint8), reading("x" * 50, 0.99))  # a rule or a sliver
    assert accepts(params, np.zeros((32, 64), np.uint8), reading("No", 0.99))


def test_calibration_is_monotone_in_both_features():
    weights = (2.0, 3.0, 5.0)
    sure, unsure = DecodedText("ab", (0.99, 0.99)), DecodedText("ab", (0.99, 0.5))
    assert 0.0 < calibrated(unsure, weights) < calibrated(sure, weights) < 1.0
    assert calibrated(sure, None) == pytest.approx(sure.confidence)


def test_config_refuses_a_threshold_out_of_range(tmp_path):
    path = tmp_path / "edgeocr.yaml"
    path.write_text("engine:\n  fast_path: true\n  fast_path_threshold: 2\n")
    with pytest.raises(ConfigError, match="engine.fast_path_threshold"):
        load_config(path)


# -- the real engine ---------------------------------------------------------------------------

ENGLISH = ["CORNER CAFE", "12 Market Street", "Latte 2 x 4.50 9.00", "Croissant 3.20", "TOTAL 12.20"]


def engine_with(**changes):
    from edgeocr.engine import Engine

    base = Config()
    return Engine(dataclasses.replace(base, engine=dataclasses.replace(base.engine, threads=2, **changes)))


@pytest.fixture(scope="module")
def fast_engine():
    return engine_with(fast_path=True)


def test_fast_pack_reads_easy_english_lines_and_says_so(fast_engine):
    result = fast_engine.ocr_bytes(encode(render_lines(ENGLISH)))
    assert [line.text for line in result.text_lines] == ENGLISH
    readers = {line.recognizer for line in result.text_lines}
    assert "en-latin-v2" in readers, readers
    assert result.to_dict()["engine"]["fast_path"] == "en-latin-v2"
    assert all(line["recognizer"] in ("en-latin-v2", "ppocrv6-small") for line in result.to_dict()["text_lines"])


def test_chinese_lines_go_to_the_accurate_recognizer(fast_engine):
    lines = ["发票代码 044031900111", "合计金额 128.50", "TOTAL 12.20"]
    result = fast_engine.ocr_bytes(encode(render_text_page(lines, reserved_cjk_font())))
    by_text = {line.text: line.recognizer for line in result.text_lines}
    chinese = [text for text in by_text if any("\u4e00" <= ch <= "\u9fff" for ch in text)]
    assert len(chinese) == 2, by_text
    assert all(by_text[text] == "ppocrv6-small" for text in chinese), by_text
    assert "合计金额" in result.text and "发票代码" in result.text


def test_threshold_one_sends_everything_on_and_reads_as_without(engine):
    data = encode(render_lines(ENGLISH))
    strict = engine_with(fast_path=True, fast_path_threshold=1.0).ocr_bytes(data)
    assert {line.recognizer for line in strict.text_lines} == {"ppocrv6-small"}
    assert strict.text == engine.ocr_bytes(data).text


def test_without_the_fast_path_every_line_names_the_pack(engine):
    result = engine.ocr_bytes(encode(render_lines(ENGLISH[:2])))
    assert {line.recognizer for line in result.text_lines} == {"ppocrv6-small"}
    assert result.to_dict()["engine"]["fast_path"] is None


def test_a_fast_pack_that_is_not_installed_is_refused_at_start():
    with pytest.raises(ModelPackError, match="pack no-such-pack: not found"):
        engine_with(fast_path=True, fast_path_pack="no-such-pack")


def test_an_uncalibrated_fast_pack_is_refused_at_start():
    with pytest.raises(ModelPackError, match="en-latin-v1.*engine.fast_path_pack.*not calibrated"):
        engine_with(fast_path=True, fast_path_pack="en-latin-v1")
