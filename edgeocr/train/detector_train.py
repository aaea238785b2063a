"""Train the DB detector on rendered pages; resumable, validated by detection H-mean on held-out pages.

    python -m edgeocr.train.detector_train --out runs/det --steps 20000 --seed 1 --device cuda --workers 12

The whole run is fixed by the seed: page ``i`` and its crops are pure functions of ``(seed, i)``
and batches are taken in index order, so a resumed run continues exactly where ``last.pt`` stopped.
"""
from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from ..detect.db import DbParams, db_postprocess, resize_for_db
from ..evaluation import DetectionCounts
from .detector_data import DetectionPages, PageSpec, normalise
from .detector_model import DbNet, DbShape, db_loss
from .fonts import latin_training_fonts
from .pages import render_page

VAL_SEED_OFFSET = 1_000_003


@dataclass(frozen=True)
class DetTrainConfig:
    seed: int = 1
    steps: int = 20000
    batch_size: int = 16
    crop: int = 640
    crops_per_page: int = 2
    lr: float = 2e-3
    warmup_steps: int = 500
    weight_decay: float = 1e-4
    stem: int = 16
    stages: tuple[int, ...] = (24, 40, 64, 96)
    blocks: tuple[int, ...] = (1, 2, 2, 2)
    neck: int = 64
    workers: int = 4
    threads: int = 2
    device: str = "cpu"
    val_size: int = 64
    val_limit_side: int = 960
    val_every: int = 1000
    log_every: int = 50
    max_minutes: float = 0.0  # stop cleanly (``last.pt`` saved) after this long; 0: run to ``steps``

    def shape(self) -> DbShape:
        return DbShape(stem=self.stem, stages=tuple(self.stages), blocks=tuple(self.blocks), neck=self.neck)


def lr_at(step: int, config: DetTrainConfig) -> float:
    """Linear warm-up, then cosine decay to 1 % of the peak."""
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    progress = (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)
    return config.lr * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))))


def predict_prob(model: DbNet, gray: np.ndarray, params: DbParams, device: torch.device) -> tuple[np.ndarray, float, float]:
    """The probability map for a whole page, resized exactly as the engine resizes it."""
    resized, sx, sy = resize_for_db(gray, params)
    tensor = torch.from_numpy(normalise(resized))[None, None].to(device)
    with torch.no_grad():
        prob = model(tensor)["prob"][0, 0].float().cpu().numpy()
    return prob, sx, sy


def validate(model: DbNet, pages: list, params: DbParams, device: torch.device) -> dict[str, float]:
    was_training = model.training
    model.eval()
    counts = DetectionCounts()
    for page in pages:
        prob, sx, sy = predict_prob(model, page.image, params, device)
        counts.add([line.quad for line in db_postprocess(prob, params, sx, sy)], list(page.quads))
    model.train(was_training)
    return {"val_precision": counts.precision, "val_recall": counts.recall, "val_hmean": counts.hmean}


def _to(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


def train(config: DetTrainConfig, out: Path, fonts: list[Path] | None = None, log=print) -> Path:
    """Train (resuming from ``out/last.pt`` when present) and return the best checkpoint's path."""
    out.mkdir(parents=True, exist_ok=True)
    fonts = fonts or latin_training_fonts()
    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads)
    device = torch.device(config.device)
    model = DbNet(config.shape()).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    start_step, best = 0, -1.0
    last_path, best_path = out / "last.pt", out / "best.pt"
    if last_path.exists():
        state = torch.load(last_path, map_location=device, weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start_step, best = state["step"], state["best_hmean"]
        log(f"resumed from {last_path} at step {start_step}")

    pages_needed = -(-config.steps * config.batch_size // config.crops_per_page)
    train_set = DetectionPages(PageSpec(config.seed, pages_needed, config.crop, config.crops_per_page), fonts)
    # Index order, not shuffled: consecutive crops share a rendered page (rendering is the slow part),
    # and the pages themselves are already random draws.
    remaining = list(range(start_step * config.batch_size, config.steps * config.batch_size))
    loader = DataLoader(train_set, batch_size=config.batch_size, sampler=remaining, num_workers=config.workers,
                        persistent_workers=config.workers > 0, pin_memory=device.type == "cuda")
    val_pages = [render_page(config.seed + VAL_SEED_OFFSET, i, fonts) for i in range(config.val_size)]
    val_params = replace(DbParams(), limit_side=config.val_limit_side)

    use_amp = device.type == "cuda"
    meta = {"config": asdict(config), "shape": asdict(config.shape())}
    history_path = out / "history.jsonl"
    model.train()
    step, started, running = start_step, time.time(), []
    for batch in loader:
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, config)
        batch = _to(batch, device)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=use_amp):
            output = model(batch["image"])
        loss, parts = db_loss(output, batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        running.append(loss.item())
        step += 1
        if step % config.log_every == 0:
            log(f"step {step} loss {np.mean(running[-config.log_every:]):.3f} "
                f"{' '.join(f'{k} {v:.3f}' for k, v in parts.items())} {time.time() - started:.0f}s")
        if step % config.val_every == 0 or step == config.steps:
            record = {"step": step, "loss": float(np.mean(running)), **validate(model, val_pages, val_params, device),
                      "lr": lr_at(step - 1, config), "elapsed_s": round(time.time() - started, 1),
                      "s_per_step": round((time.time() - started) / max(1, step - start_step), 3)}
            running = []
            log(json.dumps(record))
            with history_path.open("a") as handle:
                handle.write(json.dumps(record) + "\n")
            if record["val_hmean"] >= best:  # on a tie the later, longer-trained weights win
                best = record["val_hmean"]
                torch.save({"model": model.state_dict(), "step": step, "val_hmean": best, **meta}, best_path)
            torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step,
                        "best_hmean": best, **meta}, last_path)
        elif config.max_minutes and time.time() - started > config.max_minutes * 60:
            # Lent accelerators come with a per-command time limit: stop where a rerun can resume.
            torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step,
                        "best_hmean": best, **meta}, last_path)
            log(f"stopped after {config.max_minutes} minutes at step {step}; run again to resume")
            break
    if not best_path.exists():  # fewer steps than one validation interval
        torch.save({"model": model.state_dict(), "step": step, "val_hmean": None, **meta}, best_path)
    return best_path


def finished(out: Path, config: DetTrainConfig) -> bool:
    """Whether the run in ``out`` has reached its last step (a stopped run has not)."""
    last = out / "last.pt"
    return last.exists() and torch.load(last, map_location="cpu", weights_only=False)["step"] >= config.steps


def load_checkpoint(path: Path) -> tuple[DbNet, dict]:
    state = torch.load(path, map_location="cpu", weights_only=False)
    shape = state["shape"]
    model = DbNet(DbShape(**{**shape, "stages": tuple(shape["stages"]), "blocks": tuple(shape["blocks"])}))
    model.load_state_dict(state["model"])
    model.eval()
    return model, state


def add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = DetTrainConfig()
    for name in ("steps", "seed", "batch_size", "crop", "crops_per_page", "workers", "threads", "val_every",
                 "val_size", "warmup_steps", "log_every"):
        parser.add_argument("--" + name.replace("_", "-"), type=int, default=getattr(defaults, name))
    parser.add_argument("--lr", type=float, default=defaults.lr)
    parser.add_argument("--max-minutes", type=float, default=defaults.max_minutes,
                        help="stop cleanly after this long, to resume with the same command (0: no limit)")
    parser.add_argument("--device", default=defaults.device)


def config_from(args: argparse.Namespace) -> DetTrainConfig:
    names = ("steps", "seed", "batch_size", "crop", "crops_per_page", "workers", "threads", "val_every", "val_size",
             "warmup_steps", "log_every", "lr", "device", "max_minutes")
    return DetTrainConfig(**{name: getattr(args, name) for name in names})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    add_arguments(parser)
    args = parser.parse_args(argv)
    print(f"best checkpoint: {train(config_from(args), args.out)}")


if __name__ == "__main__":
    main()
