"""Compare runner for rapidocr 3.10 (PP-OCRv6 small det + rec and the 0/180 classifier: the very
files edgeocr's default pack imports), on ONNX Runtime.

Runs inside its own venv (``bench/compare_setup.py``): rapidocr does not declare onnxruntime, so
the setup installs the same onnxruntime version as the project's beside it, and the difference
in the table is the engine around the models, not the runtime. Its models load lazily, so the
threads it really set are read back from the sessions after the run. Pages use rapidocr's
default pipeline; single lines ``use_det=False, use_cls=False``.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import protocol  # noqa: E402


def start(job: dict):
    from importlib import metadata

    import onnxruntime
    from rapidocr import RapidOCR

    threads = int(job["threads"])
    engine = RapidOCR(params={"Global.log_level": "error",
                              "EngineConfig.onnxruntime.intra_op_num_threads": threads,
                              "EngineConfig.onnxruntime.inter_op_num_threads": 1})

    def read(item: dict) -> list:
        if item["kind"] == "line":
            result = engine(item["path"], use_det=False, use_cls=False, use_rec=True)
            text = (result.txts[0] if result.txts else "").strip()
            return [{"text": text, "box": [0, 0, 0, 0]}] if text else []
        # use_* are stored by rapidocr on every call: a page after a line must switch them back.
        result = engine(item["path"], use_det=True, use_cls=True, use_rec=True)
        if getattr(result, "txts", None) is None:
            return []
        return [{"text": text, "box": protocol.box_of(box)} for box, text in zip(result.boxes, result.txts)]

    def finish() -> dict:
        sessions = {name: getattr(getattr(engine, f"text_{name}", None), "session", None) for name in ("det", "cls", "rec")}
        sessions = {name: getattr(s, "session", None) for name, s in sessions.items()}
        return {"threads_set": {name: s.get_session_options().intra_op_num_threads
                                for name, s in sessions.items() if s is not None}}

    models = Path(sys.modules["rapidocr"].__file__).parent / "models"
    info = {"engine": f"rapidocr {metadata.version('rapidocr')}", "onnxruntime": onnxruntime.__version__,
            "model_files": {str(p): p.stat().st_size for p in sorted(models.glob("*.onnx"))}, "finish": finish}
    return read, info


if __name__ == "__main__":
    raise SystemExit(protocol.run(start))
