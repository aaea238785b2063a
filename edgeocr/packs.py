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

PACK_FILE = "pack.yaml"


@dataclass(frozen=True)
class RecognizerSpec:
    type: str
    model: str
    charset: str
    input_height: int
    max_width: int
    blank_index: int
    width_stride: int
    variants: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DetectorSpec:
    type: str                       # "classical" or "db"
    model: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)


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

    def path(self, name: str) -> Path:
        return self.root / name

    def charset(self) -> list[str]:
        text = self.path(self.recognizer.charset).read_text(encoding="utf-8")
        chars = text.split("\n")
        if chars and chars[-1] == "":
            chars.pop()
        return chars

    def recognizer_model(self, variant: str | None = None) -> Path:
        if variant is None or variant == "default":
            return self.path(self.recognizer.model)
        if variant not in self.recognizer.variants:
            raise ModelPackError(f"pack {self.name}: no recognizer variant '{variant}' "
                                 f"(has: default, {', '.join(self.recognizer.variants) or 'none'})")
        return self.path(self.recognizer.variants[variant])


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
    recognizer = RecognizerSpec(
        type=_require(rec, "type", str, f"{where} recognizer"),
        model=_require(rec, "model", str, f"{where} recognizer"),
        charset=_require(rec, "charset", str, f"{where} recognizer"),
        input_height=_require(rec, "input_height", int, f"{where} recognizer"),
        max_width=_require(rec, "max_width", int, f"{where} recognizer"),
        blank_index=_require(rec, "blank_index", int, f"{where} recognizer"),
        width_stride=int(rec.get("width_stride", 4)),
        variants=dict(rec.get("variants") or {}),
    )
    if recognizer.type != "crnn-ctc":
        raise ModelPackError(f"{where}: recognizer type '{recognizer.type}' is not supported (crnn-ctc)")
    if recognizer.blank_index != 0:
        raise ModelPackError(f"{where}: blank_index must be 0 (the charset file lists classes 1..N)")
    detector = DetectorSpec(type=_require(det, "type", str, f"{where} detector"), model=det.get("model"),
                            settings=dict(det.get("settings") or {}))
    if detector.type not in ("classical", "db"):
        raise ModelPackError(f"{where}: detector type '{detector.type}' is not one of classical, db")
    if detector.type == "db" and not detector.model:
        raise ModelPackError(f"{where}: a db detector needs a model file")
    pack = ModelPack(
        name=_require(data, "name", str, where), version=str(_require(data, "version", (str, int, float), where)),
        license=_require(data, "license", str, where), trained_on=str(data.get("trained_on", "")),
        root=directory, files={str(k): str(v.get("sha256") if isinstance(v, dict) else v) for k, v in files.items()},
        recognizer=recognizer, detector=detector, metrics=dict(data.get("metrics") or {}),
    )
    referenced = [recognizer.model, recognizer.charset, *recognizer.variants.values()]
    if detector.model:
        referenced.append(detector.model)
    for name in referenced:
        if name not in pack.files:
            raise ModelPackError(f"pack {pack.name}: {name} is used but not listed under files")
    verify_files(pack, check_hashes=verify)
    if len(pack.charset()) < 1:
        raise ModelPackError(f"pack {pack.name}: {recognizer.charset} is empty")
    return pack


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
