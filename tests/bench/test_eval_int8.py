"""bench/eval_int8.py's choice of which copy of each model ships (the rule issue 11 sets)."""
from __future__ import annotations

from bench import compare_setup
from bench.compare_setup import Skipped
from bench.eval_int8 import picks, table


def row(model, variant, f1, cer, det=0.3, rec=1.0):
    return {"model": model, "variant": variant, "size_mb": None if model == "all" else 1.0, "word_f1": f1,
            "line_cer": cer, "detect_p50_s": det, "recognize_p50_s": rec, "p50_s": det + rec}


def test_the_fastest_variant_within_the_tolerance_ships_and_fp32_where_none_is():
    rows = [row("all", "fp32", 0.876, 0.048),
            row("detector", "int8", 0.876, 0.0505, det=0.2),          # +0.25 points CER: allowed
            row("recognizer", "int8", 0.784, 0.080, rec=0.6),         # far worse: never
            row("recognizer", "int8-matmul", 0.8735, 0.048, rec=0.8),  # -0.25 points F1: allowed
            row("classifier", "int8", 0.8716, 0.0537, rec=0.9)]       # -0.46 points F1: not allowed
    assert picks(rows, 0.003) == {"detector": "int8", "recognizer": "int8-matmul", "classifier": "fp32"}
    text = table(rows, picks(rows, 0.003), 100, 2)
    assert "| all | fp32 |  | 0.8760 | 4.80 % |" in text and text.rstrip().endswith("|")
    assert "| detector | int8 | 1.0 | 0.8760 | 5.05 % | 0.200 |" in text


def test_a_slower_variant_does_not_ship_even_when_as_accurate():
    rows = [row("all", "fp32", 0.876, 0.048), row("detector", "int8", 0.876, 0.048, det=0.4)]
    assert picks(rows, 0.003) == {"detector": "fp32"}


def test_the_rapidocr3_peer_is_skipped_with_the_reason_when_its_venv_is_missing(tmp_path):
    skipped = compare_setup.peer_python("rapidocr3", tmp_path / "venvs", create=False)
    assert isinstance(skipped, Skipped) and "rapidocr3" in skipped.reason
