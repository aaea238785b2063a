"""bench/compare.py's parts that can fail: TSV parsing, MAC counting, the runner protocol, skips.

No peer runs here (RapidOCR and Tesseract are bench dependencies, not test ones); the edgeocr
runner does, as a real subprocess on a real engine.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import compare  # noqa: E402
import compare_macs  # noqa: E402
import compare_report  # noqa: E402
import compare_setup  # noqa: E402
from compare_setup import Skipped  # noqa: E402
from edgeocr.evaluation import default_sroie_dir  # noqa: E402
from edgeocr.metrics import edit_distance  # noqa: E402
from peers.tesstsv import join_words, parse_tsv  # noqa: E402
from tests.rendering import render_lines  # noqa: E402

HEADER = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext"


def tsv(*rows: str) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


# -- Tesseract TSV ------------------------------------------------------------------------------


def test_tsv_words_become_lines_with_union_boxes():
    text = tsv("1\t1\t0\t0\t0\t0\t0\t0\t500\t300\t-1\t",
               "4\t1\t1\t1\t1\t0\t10\t20\t200\t30\t-1\t",
               "5\t1\t1\t1\t1\t1\t10\t22\t60\t25\t91.5\tTOTAL",
               "5\t1\t1\t1\t1\t2\t80\t20\t70\t30\t88.5\t12.20",
               "5\t1\t1\t1\t2\t1\t12\t70\t40\t20\t95\tCASH",
               "5\t1\t1\t1\t2\t2\t60\t70\t10\t20\t-1\t ",  # an empty word: nothing was read there
               "5\t1\t2\t1\t1\t1\t300\t70\t40\t20\t80\tCASH")  # same line number, other block: another line
    lines = parse_tsv(text)
    assert [line["text"] for line in lines] == ["TOTAL 12.20", "CASH", "CASH"]
    assert lines[0]["box"] == [10, 20, 150, 50]
    assert lines[0]["conf"] == pytest.approx(90.0)
    assert lines[1]["box"] == [12, 70, 52, 90]


def test_tsv_cjk_words_join_without_spaces_but_latin_keeps_them():
    text = tsv("5\t1\t1\t1\t1\t1\t0\t0\t20\t20\t90\t合计",
               "5\t1\t1\t1\t1\t2\t20\t0\t20\t20\t90\t金额",
               "5\t1\t1\t1\t1\t3\t40\t0\t20\t20\t90\tRMB",
               "5\t1\t1\t1\t1\t4\t60\t0\t20\t20\t90\t12.00",
               "5\t1\t1\t1\t1\t5\t80\t0\t20\t20\t90\t元")
    assert parse_tsv(text)[0]["text"] == "合计金额 RMB 12.00 元"
    assert join_words(["Hello", "世界", "好"]) == "Hello 世界好"


def test_tsv_ignores_malformed_rows_and_empty_output():
    assert parse_tsv("") == []
    assert parse_tsv(tsv("5\t1\t1\t1\t1\t1\tx\t0\t20\t20\t90\tbad", "garbage")) == []


# -- MAC counting ------------------------------------------------------------------------------


def tiny_model(with_mystery: bool = False) -> onnx.ModelProto:
    """Conv -> Reshape -> Gemm -> MatMul -> Reshape -> bidirectional LSTM, batch left dynamic."""
    rng = np.random.default_rng(0)

    def init(name, array):
        return numpy_helper.from_array(np.asarray(array), name)

    inits = [init("conv_w", rng.normal(size=(4, 1, 3, 3)).astype(np.float32)),
             init("flat", np.array([-1, 256], np.int64)),
             init("gemm_b", rng.normal(size=(256, 10)).astype(np.float32)),
             init("mm_b", rng.normal(size=(10, 6)).astype(np.float32)),
             init("seq", np.array([3, -1, 2], np.int64)),
             init("lstm_w", rng.normal(size=(2, 16, 2)).astype(np.float32)),
             init("lstm_r", rng.normal(size=(2, 16, 4)).astype(np.float32))]
    nodes = [helper.make_node("Conv", ["x", "conv_w"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Reshape", ["c", "flat"], ["f"]),
             helper.make_node("Gemm", ["f", "gemm_b"], ["g"])]
    matmul_in = "g"
    if with_mystery:
        nodes.append(helper.make_node("Mystery", ["g"], ["m"], domain="test.custom"))
        matmul_in = "m"
    nodes += [helper.make_node("MatMul", [matmul_in, "mm_b"], ["mm"]),
              helper.make_node("Reshape", ["mm", "seq"], ["s"]),
              helper.make_node("LSTM", ["s", "lstm_w", "lstm_r"], ["y"], hidden_size=4, direction="bidirectional")]
    graph = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 1, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    opsets = [helper.make_opsetid("", 17)] + ([helper.make_opsetid("test.custom", 1)] if with_mystery else [])
    return helper.make_model(graph, opset_imports=opsets)


def test_mac_counter_matches_the_hand_count():
    count = compare_macs.count_macs(tiny_model(), [1, 1, 8, 8])
    # Conv: 4x8x8 outputs x 1x3x3; Gemm 10 x 256; MatMul 6 x 10; LSTM 2 dirs x 3 steps x 4 gates x 4 x (2 + 4)
    assert count.by_op == {"Conv": 256 * 9, "Gemm": 2560, "MatMul": 60, "LSTM": 2 * 3 * 4 * 4 * 6}
    assert count.total == 5500
    assert count.uncounted == []
    assert compare_macs.count_macs(tiny_model(), [2, 1, 8, 8]).total == 2 * 5500  # the batch flows through


def test_mac_counter_lists_what_it_cannot_shape_instead_of_guessing():
    count = compare_macs.count_macs(tiny_model(with_mystery=True), [1, 1, 8, 8])
    assert "MatMul" not in count.by_op and "LSTM" not in count.by_op
    assert any(item.startswith("MatMul") for item in count.uncounted)
    assert any(item.startswith("LSTM") for item in count.uncounted)
    assert count.total == 256 * 9 + 2560


def test_cpu_peak_is_cores_times_clock_times_simd():
    avx2 = compare_macs.cpu_peak(2, 3.0, {"avx2", "fma"})
    assert avx2["fp32_peak_macs"] == pytest.approx(2 * 3.0e9 * 16)
    assert avx2["int8_peak_macs"] == pytest.approx(2 * 3.0e9 * 32)
    vnni = compare_macs.cpu_peak(1, 2.0, {"avx2", "fma", "avx512f", "avx512_vnni"})
    assert (vnni["fp32_macs_per_cycle_per_core"], vnni["int8_macs_per_cycle_per_core"]) == (32, 128)
    assert "2.00 GHz" in vnni["derivation"]
    share = compare_macs.distance_to_limit(10**9, 0.01, avx2)
    assert share["share_of_fp32_peak"] == pytest.approx(100e9 / 96e9)


# -- the runner protocol, on the real engine -----------------------------------------------------


def test_edgeocr_runner_answers_every_item_and_survives_a_bad_one(tmp_path):
    page = tmp_path / "page.png"
    cv2.imwrite(str(page), render_lines(["TOTAL 12.20"], font_size=28))
    line = tmp_path / "line.png"
    cv2.imwrite(str(line), cv2.cvtColor(render_lines(["Invoice 2024"], font_size=28, margin=6, line_gap=0.2),
                                        cv2.COLOR_BGR2GRAY))
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    job = {"threads": 1, "options": {"line_runs": 3},
           "items": [{"id": "p", "path": str(page), "kind": "page"}, {"id": "bad", "path": str(broken), "kind": "page"},
                     {"id": "l", "path": str(line), "kind": "line"}]}
    answers = compare.run_runner(compare.runner_command("edgeocr", sys.executable), job, tmp_path / "log.txt",
                                 timeout_s=120)
    assert answers["fatal"] is None, (tmp_path / "log.txt").read_text()
    assert set(answers["results"]) == {"p", "l"} and "bad" in answers["errors"]
    page_text = " ".join(line["text"] for line in answers["results"]["p"]["lines"])
    assert edit_distance(page_text, "TOTAL 12.20") <= 2
    assert edit_distance(answers["results"]["l"]["lines"][0]["text"], "Invoice 2024") <= 2
    done = answers["done"]
    assert done["info"]["threads_set"] == 1 and done["peak_rss_mib"] > 20
    assert done["info"]["line_320_seconds"] > 0 and all(size > 0 for size in done["info"]["model_files"].values())
    assert 0 < answers["cold_start_s"] < 120


# -- skipped peers ---------------------------------------------------------------------------------


def test_missing_tesseract_and_languages_are_skipped_with_the_reason(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty PATH: no tesseract to find
    assert isinstance(compare_setup.tesseract_langs(), Skipped)
    assert "apt-get install tesseract-ocr" in compare_setup.tesseract_langs().reason
    missing = compare_setup.missing_langs("chi_sim+eng", ["eng", "osd"])
    assert isinstance(missing, Skipped) and "tesseract-ocr-chi-sim" in missing.reason
    assert compare_setup.missing_langs("eng", ["eng"]) is None
    assert isinstance(compare_setup.rapidocr_python(tmp_path / "venvs", create=False), Skipped)


def test_a_runner_that_cannot_start_becomes_a_skipped_row_in_the_table(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # the real Tesseract runner, started where no tesseract exists
    args = compare.parse_args(["--quick"])
    args.line_skips = {}
    page = tmp_path / "p.png"
    cv2.imwrite(str(page), render_lines(["TOTAL"]))
    pages = [type("Page", (), {"name": "p", "image_path": page, "lines": ()})()]
    row = compare.measure("tesseract", 1, (sys.executable, compare.TESSERACT_LANG, {}), pages, {}, tmp_path, args)
    assert row["status"] == "skipped" and "not on PATH" in row["reason"]
    rapid = compare.measure("rapidocr", 1, Skipped("pip install failed: no network"), pages, {}, tmp_path, args)
    results = {"started": "now", "command": "x", "machine": {"cpu": "c", "cores": 2, "clock_ghz": 2.0, "memory_gib": 4,
               "os": "o", "python": "3", "load_start": 0.0, "load_end": 0.0},
               "workload": {"pages": 1, "lines": {}}, "runs": [row, rapid], "limit": None}
    table = compare_report.markdown(results)
    assert "| tesseract | 1 | skipped: FileNotFoundError: tesseract is not on PATH" in table
    assert "| rapidocr | 1 | skipped: pip install failed: no network |" in table
    assert compare_report.plot(results, tmp_path / "plot.png") is False  # nothing measured, nothing drawn


def test_main_writes_table_json_and_plot_for_edgeocr(tmp_path):
    if not (default_sroie_dir() / "img").is_dir():
        pytest.skip(f"SROIE dev set not at {default_sroie_dir()} (shared/eval beside the repository)")
    assert compare.main(["--engines", "edgeocr", "--threads", "1", "--pages", "2", "--lines", "0",
                         "--line-runs", "3", "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "compare-latest.json").read_text())
    run = data["runs"][0]
    assert run["status"] == "ok" and run["pages"]["n"] == 2 and 0 < run["pages"]["word_f1"] <= 1
    assert data["limit"]["macs_per_line"] > 1e6 and data["limit"]["rows"][0]["threads"] == 1
    assert "| edgeocr | 1 |" in (tmp_path / "compare-latest.md").read_text()
    assert cv2.imread(str(tmp_path / "compare-latest.png")) is not None


def test_an_image_that_overruns_its_time_limit_fails_alone(tmp_path):
    # A stand-in engine (a real runner process on the real protocol) whose "slow" image never ends.
    runner = tmp_path / "run_stub.py"
    runner.write_text(
        "import sys, time\n"
        f"sys.path.insert(0, {str(ROOT / 'bench' / 'peers')!r})\n"
        "import protocol\n"
        "def start(job):\n"
        "    def read(item):\n"
        "        while item['id'] == 'slow':\n"
        "            time.sleep(0.01)\n"
        "        return [{'text': item['id'], 'box': [0, 0, 1, 1]}]\n"
        "    return read, {}\n"
        "raise SystemExit(protocol.run(start))\n")
    job = {"threads": 1, "item_timeout_s": 0.5,
           "items": [{"id": "slow", "path": "x", "kind": "page"}, {"id": "fast", "path": "y", "kind": "page"}]}
    answers = compare.run_runner([sys.executable, str(runner)], job, tmp_path / "log.txt", timeout_s=60)
    assert answers["fatal"] is None, (tmp_path / "log.txt").read_text()
    assert "gave up after 0.5 s" in answers["errors"]["slow"]
    assert answers["results"]["fast"]["lines"][0]["text"] == "fast"


def test_a_runners_peak_rss_does_not_include_the_parent_that_started_it():
    """Linux hands a forking parent's RSS on to the child's ``ru_maxrss`` across exec; the
    runner's own figure must not grow with compare.py's."""
    import subprocess

    ballast = np.ones(300 * 1024 * 1024 // 8)   # 300 MiB resident in this (parent) process
    code = f"import sys; sys.path.insert(0, {str(ROOT / 'bench' / 'peers')!r}); import protocol; print(protocol.peak_rss_mib())"
    child = float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    assert ballast.sum() > 0
    assert 5 < child < 150
