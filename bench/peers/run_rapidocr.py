"""Compare runner for RapidOCR (PP-OCRv4 mobile det + rec, angle classifier, ONNX Runtime).

Runs inside the venv that ``bench/compare_setup.py`` made for it, never the project's: it imports
nothing from edgeocr. ``intra_op_num_threads`` is RapidOCR's own knob, copied by its
``UpdateParameters`` to the Det, Cls and Rec sessions; the runner reads the value back from the
sessions so a silently ignored setting would show in the results. Pages use RapidOCR's default
pipeline (det + cls + rec); single-line images use ``use_det=False, use_cls=False``.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import protocol  # noqa: E402


def start(job: dict):
    from importlib import metadata

    import onnxruntime
    from rapidocr_onnxruntime import RapidOCR

    threads = int(job["threads"])
    engine = RapidOCR(intra_op_num_threads=threads, inter_op_num_threads=1)
    sessions = {"det": engine.text_det.infer.session, "cls": engine.text_cls.infer.session,
                "rec": engine.text_rec.session.session}
    threads_set = {name: s.get_session_options().intra_op_num_threads for name, s in sessions.items()}
    model_files = {path: Path(path).stat().st_size for path in (s._model_path for s in sessions.values())}

    def read(item: dict) -> list:
        if item["kind"] == "line":
            result, _ = engine(item["path"], use_det=False, use_cls=False, use_rec=True)
            text = (result[0][0] if result else "").strip()
            return [{"text": text, "box": [0, 0, 0, 0]}] if text else []
        result, _ = engine(item["path"])
        return [{"text": text, "box": protocol.box_of(box)} for box, text, _score in (result or [])]

    info = {"engine": f"rapidocr-onnxruntime {metadata.version('rapidocr-onnxruntime')}",
            "onnxruntime": onnxruntime.__version__, "threads_set": threads_set, "model_files": model_files}
    return read, info


if __name__ == "__main__":
    raise SystemExit(protocol.run(start))
