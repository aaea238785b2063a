"""bench/calibrate_spaces.py: the score, the pick, and the edit of pack.yaml that keeps its comments."""
from __future__ import annotations

import shutil

import yaml

from bench.calibrate_spaces import choose, score, write_threshold
from edgeocr.packs import find_pack_dir, load_pack


def test_space_errors_count_only_lines_whose_characters_are_right():
    result = score(["TOTAL: 12.50", "DATE:0l/02", "THANK YOU"], ["TOTAL : 12.50", "DATE : 01/02", "THANK YOU"])
    assert result["lines_right"] == 2 and result["space_errors"] == 1
    assert result["exact"] == 1 / 3


def test_the_pick_has_the_fewest_space_errors_and_ties_go_to_the_higher_threshold():
    rows = [{"threshold": t, "space_errors": e} for t, e in [(0.0, 9), (0.05, 4), (0.1, 4), (0.2, 6)]]
    assert choose(rows)["threshold"] == 0.1


def test_writing_the_threshold_keeps_comments_and_replaces_an_old_value(tmp_path):
    pack_dir = tmp_path / "pack"
    shutil.copytree(find_pack_dir("en-latin-v1"), pack_dir)
    original = (pack_dir / "pack.yaml").read_text(encoding="utf-8")
    comments = [line for line in original.splitlines() if "#" in line]
    write_threshold(pack_dir, 0.2)
    write_threshold(pack_dir, 0.1)
    text = (pack_dir / "pack.yaml").read_text(encoding="utf-8")
    assert text.count("space_threshold") == 1
    assert all(line in text.splitlines() for line in comments)
    assert yaml.safe_load(text)["recognizer"]["space_threshold"] == 0.1
    assert load_pack(pack_dir).recognizer.space_threshold == 0.1
