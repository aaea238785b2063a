"""Model packs: a folder under ``models/`` with ``pack.yaml``, the ONNX files and the charset.

Loading checks that every listed file exists and matches its sha256, and that the settings make
sense, so a damaged or half-copied pack is refused at start with the pack, file and problem named.
"""
from __future__ import annotations

import hashlib
import site
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import ModelPackError
from .inputspec import InputSpec

PACK_FILE = "pack.yaml"


RECOGNIZER_TYPES = ("crnn-ctc", "ppocr-ctc")
DETECTOR_TYPES = ("classical", "db")
CLASSIFIER_TYPES = ("cls-0-180",)
# Scripts a pack may declare it reads; the engine reports them so a Latin-only pack is never
# silently used on Chinese.
KNOWN_SCRIPTS = ("latin", "han", "hangul", "kana", "cyrillic", "greek", "arabic")

# The input conventions of each model family when a pack does not spell them out: our CRNN is
# grayscale at 32 px scaled to [-1, 1]; PP-OCR recognizers take BGR at 48 px, (x/255 - 0.5)/0.5,
# zero-padded as in their training.
DEFAULT_INPUTS: dict[str, dict[str, Any]] = {
    "crnn-ctc": {"channels": 1, "height": 32, "mean": [0.5], "std": [0.5], "pad": "edge", "width_multiple": 32},
    "ppocr-ctc": {"channels": 3, "height": 48, "mean": [0.5], "std": [0.5], "pad": "zero", "width_multiple": 1,
                  "min_width": 16, "max_width": 3200},
    "db": {"channels": 3, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]},
    "cls-0-180": {"channels": 3, "height": 48, "mean": [0.5], "std": [0.5], "pad": "zero", "min_width": 16,
                  "max_width": 192, "width_multiple": 192},
}


def family_input(family: str, **changes: Any) -> InputSpec:
    """A model family's default input convention, with ``changes`` (training and packing use it)."""
    return InputSpec.from_dict({**DEFAULT_INPUTS[family], **changes}, f"{family} input")


@dataclass(frozen=True)
class RecognizerSpec:
    type: str
    model: str
    charset: str
    input: InputSpec
    blank_index: int = 0
    batch_size: int | None = None     # the pack's measured best; engine.batch_size overrides
    variants: dict[str, str] = field(default_factory=dict)
    # A fast pack's calibrated acceptance rule (threshold, calibration, aspect limits; cascade.py).
    fast_path: dict[str, Any] = field(default_factory=dict)
    # Share of the space class in a gap between two characters that makes it a word space
    # (``ctc.restore_spaces``); 0 leaves best path's spaces as they are.
    space_threshold: float = 0.0

    # The names the rest of the code used before input conventions became an InputSpec.
    @property
    def input_height(self) -> int:
        return int(self.input.height or 0)

    @property
    def max_width(self) -> int:
        return self.input.max_width


@dataclass(frozen=True)
class DetectorSpec:
    type: str                       # "classical" or "db"
    model: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    input: InputSpec | None = None
    variants: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ClassifierSpec:
    """A line orientation classifier (0 or 180 degrees); absent in packs that have none."""

    type: str
    model: str
    input: InputSpec
    settings: dict[str, Any] = field(default_factory=dict)
    variants: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelPack:
    name: str
    version: str
    license: str
    trained_on: str
    root: Path
    files: dict[str, str]
    recognizer: RecognizerSpec
    detector: DetectorSpec
    metrics: dict[str, Any] = field(default_factory=dict)
    classifier: ClassifierSpec | None = None
    scripts: tuple[str, ...] = ("latin",)
    provenance: dict[str, Any] = field(default_factory=dict)

    def path(self, name: str) -> Path:
        return self.root / name

    def charset(self) -> list[str]:
        text = self.path(self.recognizer.charset).read_text(encoding="utf-8")
        chars = text.split("\n")
        if chars and chars[-1] == "":
            chars.pop()
        return chars

    def recognizer_model(self, variant: str | None = None) -> Path:
        return self.path(_variant(self.name, "recognizer", self.recognizer.model, self.recognizer.variants, variant))

    def detector_model(self, variant: str | None = None) -> Path:
        assert self.detector.model is not None
        return self.path(_variant(self.name, "detector", self.detector.model, self.detector.variants, variant))

    def classifier_model(self, variant: str | None = None) -> Path:
        assert self.classifier is not None
        return self.path(_variant(self.name, "classifier", self.classifier.model, self.classifier.variants, variant))

    def size_bytes(self) -> int:
        return sum(self.path(name).stat().st_size for name in self.files if self.path(name).is_file())


def _variant(pack: str, part: str, default: str, variants: dict[str, str], wanted: str | None) -> str:
    if wanted is None or wanted == "default":
        return default
    if wanted not in variants:
        raise ModelPackError(f"pack {pack}: no {part} variant '{wanted}' "
                             f"(has: default, {', '.join(variants) or 'none'})")
    return variants[wanted]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def default_models_dirs() -> list[Path]:
    """Where shipped packs live: the checkout's ``models/`` and the installed copy."""
    return [Path(__file__).resolve().parent.parent / "models", Path(sys.prefix) / "share" / "edgeocr" / "models",
            Path(site.USER_BASE or "~/.local").expanduser() / "share" / "edgeocr" / "models"]


def find_pack_dir(name: str, models_dir: str | None = None) -> Path:
    """A pack by name (searched in the models folders) or by path to its folder."""
    candidate = Path(name)
    if candidate.is_dir() and (candidate / PACK_FILE).is_file():
        return candidate
    if "/" in name or "\\" in name or name in (".", ".."):
        raise ModelPackError(f"pack {name}: no {PACK_FILE} in that folder")
    roots = [Path(models_dir)] if models_dir else default_models_dirs()
    for root in roots:
        if (root / name / PACK_FILE).is_file():
            return root / name
    raise ModelPackError(f"pack {name}: not found in {', '.join(str(r) for r in roots)}")


def list_packs(models_dir: str | None = None) -> list[Path]:
    roots = [Path(models_dir)] if models_dir else default_models_dirs()
    seen: dict[str, Path] = {}
    for root in roots:
        if root.is_dir():
            for child in sorted(root.iterdir()):
                if (child / PACK_FILE).is_file() and child.name not in seen:
                    seen[child.name] = child
    return list(seen.values())


def _space_threshold(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ModelPackError(f"{where}: space_threshold must be a number from 0 (off) to below 1, got {value!r}")
    return float(value)


def _require(data: dict, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in data:
        raise ModelPackError(f"{where}: missing key '{key}'")
    value = data[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        names = " or ".join(k.__name__ for k in kinds)
        raise ModelPackError(f"{where}: key '{key}' must be {names}, got {value!r}")
    return value


def load_pack(directory: Path, verify: bool = True) -> ModelPack:
    pack_file = directory / PACK_FILE
    where = f"pack {directory.name} ({pack_file})"
    try:
        data = yaml.safe_load(pack_file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ModelPackError(f"{where}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ModelPackError(f"{where}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ModelPackError(f"{where}: expected a mapping")
    files = _require(data, "files", dict, where)
    rec = _require(data, "recognizer", dict, where)
    det = _require(data, "detector", dict, where)
    rec_where = f"{where} recognizer"
    rec_type = _require(rec, "type", str, rec_where)
    if rec_type not in RECOGNIZER_TYPES:
        raise ModelPackError(f"{rec_where}: type '{rec_type}' is not supported ({', '.join(RECOGNIZER_TYPES)})")
    recognizer = RecognizerSpec(
        type=rec_type,
        model=_require(rec, "model", str, rec_where),
        charset=_require(rec, "charset", str, rec_where),
        input=_input_spec(rec, rec_type, rec_where),
        blank_index=int(rec.get("blank_index", 0)),
        batch_size=rec.get("batch_size"),
        variants=dict(rec.get("variants") or {}),
        fast_path=dict(rec.get("fast_path") or {}),
        space_threshold=_space_threshold(rec.get("space_threshold", 0.0), rec_where),
    )
    if recognizer.blank_index != 0:
        raise ModelPackError(f"{where}: blank_index must be 0 (the charset file lists classes 1..N)")
    det_type = _require(det, "type", str, f"{where} detector")
    if det_type not in DETECTOR_TYPES:
        raise ModelPackError(f"{where}: detector type '{det_type}' is not one of {', '.join(DETECTOR_TYPES)}")
    detector = DetectorSpec(type=det_type, model=det.get("model"), settings=dict(det.get("settings") or {}),
                            input=_input_spec(det, det_type, f"{where} detector") if det_type == "db" else None,
                            variants=dict(det.get("variants") or {}))
    if detector.type == "db" and not detector.model:
        raise ModelPackError(f"{where}: a db detector needs a model file")
    classifier = None
    if data.get("classifier") is not None:
        cls = _require(data, "classifier", dict, where)
        cls_where = f"{where} classifier"
        cls_type = _require(cls, "type", str, cls_where)
        if cls_type not in CLASSIFIER_TYPES:
            raise ModelPackError(f"{cls_where}: type '{cls_type}' is not one of {', '.join(CLASSIFIER_TYPES)}")
        classifier = ClassifierSpec(type=cls_type, model=_require(cls, "model", str, cls_where),
                                    input=_input_spec(cls, cls_type, cls_where),
                                    settings=dict(cls.get("settings") or {}), variants=dict(cls.get("variants") or {}))
    scripts = tuple(data.get("scripts") or ("latin",))
    unknown_scripts = [s for s in scripts if s not in KNOWN_SCRIPTS]
    if unknown_scripts:
        raise ModelPackError(f"{where}: unknown script(s) {', '.join(map(str, unknown_scripts))} "
                             f"(known: {', '.join(KNOWN_SCRIPTS)})")
    pack = ModelPack(
        name=_require(data, "name", str, where), version=str(_require(data, "version", (str, int, float), where)),
        license=_require(data, "license", str, where), trained_on=str(data.get("trained_on", "")),
        root=directory, files={str(k): str(v.get("sha256") if isinstance(v, dict) else v) for k, v in files.items()},
        recognizer=recognizer, detector=detector, metrics=dict(data.get("metrics") or {}),
        classifier=classifier, scripts=scripts, provenance=dict(data.get("provenance") or {}),
    )
    referenced = [recognizer.model, recognizer.charset, *recognizer.variants.values(), *detector.variants.values()]
    if detector.model:
        referenced.append(detector.model)
    if classifier is not None:
        referenced += [classifier.model, *classifier.variants.values()]
    for name in referenced:
        if name not in pack.files:
            raise ModelPackError(f"pack {pack.name}: {name} is used but not listed under files")
    verify_files(pack, check_hashes=verify)
    if len(pack.charset()) < 1:
        raise ModelPackError(f"pack {pack.name}: {recognizer.charset} is empty")
    return pack


def _input_spec(section: dict, family: str, where: str) -> InputSpec:
    """The section's ``input:`` over the family's defaults; older CRNN packs give height and width
    as ``input_height`` / ``max_width`` beside the model."""
    merged: dict[str, Any] = dict(DEFAULT_INPUTS[family])
    if family == "crnn-ctc":
        if "input_height" in section:
            merged["height"] = _require(section, "input_height", int, where)
        if "max_width" in section:
            merged["max_width"] = _require(section, "max_width", int, where)
    given = section.get("input") or {}
    if not isinstance(given, dict):
        raise ModelPackError(f"{where}: key 'input' must be a mapping, got {given!r}")
    merged.update(given)
    return InputSpec.from_dict(merged, where)


def verify_files(pack: ModelPack, check_hashes: bool = True) -> None:
    for name, expected in pack.files.items():
        path = pack.path(name)
        if Path(name).is_absolute() or ".." in Path(name).parts:
            raise ModelPackError(f"pack {pack.name}: file name {name} leaves the pack folder")
        if not path.is_file():
            raise ModelPackError(f"pack {pack.name}: file {name} is missing ({path})")
        if check_hashes:
            actual = sha256_file(path)
            if actual != expected:
                raise ModelPackError(f"pack {pack.name}: file {name} is damaged: sha256 {actual[:12]}… "
                                     f"does not match pack.yaml {str(expected)[:12]}…")
