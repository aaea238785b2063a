"""Pack model types to the stage objects that run them: one place the engine, bench and train use.

Each ``type`` a pack may name (``crnn-ctc``, ``ppocr-ctc``; ``classical``, ``db``;
``cls-0-180``) maps to a factory taking the loaded pack. Adding a model family means adding a
factory here and its input defaults in ``packs.DEFAULT_INPUTS``; nothing else branches on type.
"""
from __future__ import annotations

from dataclasses import fields
from typing import Any, Callable

from .cascade import FastPathParams, FastPathRecognizer
from .detect import Detector
from .detect.classical import ClassicalDetector, ClassicalParams
from .detect.db import DbDetector, DbParams
from .errors import ModelPackError
from .inputspec import InputSpec
from .orient import ClassifierParams, LineClassifier
from .packs import ModelPack
from .recognize import Recognizer
from .runtime import create_session


def settings_of(cls: type, settings: dict[str, Any], where: str) -> Any:
    """A params dataclass from a pack's settings mapping; unknown names are refused."""
    known = {f.name for f in fields(cls)}
    unknown = set(settings) - known
    if unknown:
        raise ModelPackError(f"{where}: unknown setting(s) {', '.join(sorted(unknown))}")
    try:
        return cls(**settings)
    except (TypeError, ValueError) as exc:
        raise ModelPackError(f"{where}: {exc}") from None


def _ctc_recognizer(pack: ModelPack, threads: int, variant: str | None, batch_size: int | None) -> Recognizer:
    spec = pack.recognizer
    # One ONNX Runtime thread per session call and ``threads`` lines at once (Recognizer.lanes):
    # the same thread budget, better spent on small line tensors.
    session = create_session(pack.recognizer_model(variant), 1)
    return Recognizer(session, pack.charset(), spec.input, batch_size or spec.batch_size or 16, spec.blank_index,
                      where=f"pack {pack.name}: {spec.model} with {spec.charset}", lanes=threads, name=pack.name,
                      space_threshold=spec.space_threshold)


RECOGNIZERS: dict[str, Callable[..., Recognizer]] = {"crnn-ctc": _ctc_recognizer, "ppocr-ctc": _ctc_recognizer}


def build_recognizer(pack: ModelPack, threads: int, variant: str | None = None,
                     batch_size: int | None = None) -> Recognizer:
    return RECOGNIZERS[pack.recognizer.type](pack, threads, variant, batch_size)


def build_fast_path(fast_pack: ModelPack, accurate: Recognizer, threads: int, threshold: float | None = None,
                    batch_size: int | None = None) -> FastPathRecognizer:
    """The cascade: ``fast_pack``'s recognizer first, ``accurate`` for the lines it does not take."""
    where = f"pack {fast_pack.name} (engine.fast_path_pack)"
    params = FastPathParams.from_pack(fast_pack.recognizer.fast_path, where, threshold)
    return FastPathRecognizer(build_recognizer(fast_pack, threads, None, batch_size), accurate, params)


def _db_detector(pack: ModelPack, threads: int, variant: str | None) -> Detector:
    settings = dict(pack.detector.settings)
    spec = pack.detector.input
    if "channels" in settings:
        # Packs written before input conventions were data kept the channel count among the DB
        # settings and meant ImageNet's mean and std for those channels.
        channels = int(settings.pop("channels"))
        spec = InputSpec(channels=channels, mean=(0.485, 0.456, 0.406)[:channels], std=(0.229, 0.224, 0.225)[:channels])
    params = settings_of(DbParams, settings, f"pack {pack.name} detector")
    return DbDetector(create_session(pack.detector_model(variant), threads), params, spec)


def build_detectors(pack: ModelPack, threads: int, variant: str | None = None) -> dict[str, Detector]:
    """The pack's detector, and the classical one (no model) beside it as a fallback."""
    classical_settings = pack.detector.settings if pack.detector.type == "classical" else {}
    detectors: dict[str, Detector] = {
        "classical": ClassicalDetector(settings_of(ClassicalParams, classical_settings, f"pack {pack.name} detector"))}
    if pack.detector.type == "db":
        detectors["db"] = _db_detector(pack, threads, variant)
    return detectors


def build_classifier(pack: ModelPack, threads: int, variant: str | None = None) -> LineClassifier | None:
    """The pack's line orientation classifier; ``None`` (a do-nothing stage) where it has none."""
    if pack.classifier is None:
        return None
    params = settings_of(ClassifierParams, pack.classifier.settings, f"pack {pack.name} classifier")
    return LineClassifier(create_session(pack.classifier_model(variant), threads), pack.classifier.input, params)
