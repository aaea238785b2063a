"""engine.*_variant config keys reach the engine (bench/arm64_check.py and a Pi choose variants
with them), and the ARM check's comparison rule itself."""
from __future__ import annotations

import io
import sys
from pathlib import Path

from edgeocr.cli import EXIT_OK, main

from .rendering import encode, render_lines

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import arm64_check  # noqa: E402


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdin=io.BytesIO(b""), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_a_named_variant_is_the_one_loaded(tmp_path):
    image = tmp_path / "line.png"
    image.write_bytes(encode(render_lines(["Variant check 42"])))
    code, out, err = run_cli("ocr", "--text", "--pack", "en-latin-v1", "--set", "engine.recognizer_variant=fp32",
                             str(image))
    assert code == EXIT_OK, err
    assert out.strip() == "Variant check 42"
    # A name the pack does not list is refused by the pack, which proves the key got that far.
    code, _, err = run_cli("ocr", "--pack", "en-latin-v1", "--set", "engine.recognizer_variant=int4", str(image))
    assert code != EXIT_OK
    assert "no recognizer variant 'int4'" in err


def line(text: str, confidence: float, dx: float = 0.0) -> dict:
    return {"text": text, "confidence": confidence,
            "polygon": [[10 + dx, 10], [100 + dx, 10], [100 + dx, 30], [10 + dx, 30]]}


def test_the_arm_comparison_allows_1px_and_0_01_and_names_both_texts():
    here = {"text_lines": [line("TOTAL 10.35", 0.990), line("Thank you!", 0.95)]}
    assert arm64_check.differences(here, {"text_lines": [line("TOTAL 10.35", 0.985, 1.0), line("Thank you!", 0.95)]}) == []
    found = arm64_check.differences(here, {"text_lines": [line("TOTAL 10.36", 0.99), line("Thank you!", 0.93, 2.0)]})
    assert found[0] == "line 0: x86-64 'TOTAL 10.35' | aarch64 'TOTAL 10.36'"
    assert "box off by 2 px" in found[1] and "0.9500 (x86-64) vs 0.9300 (aarch64)" in found[1]
    assert "aarch64 '<none>'" in arm64_check.differences(here, {"text_lines": here["text_lines"][:1]})[0]


def test_every_non_default_variant_is_checked_once():
    sets = arm64_check.variant_sets("ppocrv6-small")
    assert sets[0] == {}
    assert sorted(tuple(s.items())[0] for s in sets[1:]) == [
        ("classifier", "int8"), ("detector", "fp32"), ("recognizer", "fp32"), ("recognizer", "int8"),
        ("recognizer", "int8-conv-matmul")]
