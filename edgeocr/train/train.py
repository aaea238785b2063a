"""Train the CRNN with CTC on rendered lines; resumable, validated on held-out renders.

    python -m edgeocr.train.train --out runs/en --steps 3000 --seed 1
"""
from __future__ import annotations

import argparse
import json
import math
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from ..ctc import greedy_decode
from ..metrics import character_error_rate
from .charset import latin_charset
from .corpus import sample_english_line
from .dataset import RenderedLines, collate_lines
from .fonts import latin_training_fonts, refuse_reserved_fonts
from .model import Crnn, CrnnShape


@dataclass(frozen=True)
class TrainConfig:
    seed: int = 1
    steps: int = 3000
    batch_size: int = 64
    lr: float = 2e-3
    warmup_steps: int = 200
    weight_decay: float = 1e-4
    height: int = 32
    channels: tuple[int, ...] = (16, 32, 64, 64, 96, 96)
    hidden: int = 96
    bottleneck: int = 0
    max_width: int = 384
    val_batch_size: int = 64
    workers: int = 1
    val_size: int = 512
    val_every: int = 250
    log_every: int = 50
    threads: int = 2
    device: str = "cpu"
    train_size: int = 10_000_000
    # Stop cleanly (saving last.pt) after this many minutes; 0 = no limit. Lent accelerators run
    # one command for at most 10 minutes, so a long run is a chain of resumed chunks.
    max_minutes: float = 0.0


def compact_optimizer_state(optimizer: torch.optim.Optimizer) -> dict:
    """The optimizer's state with its moment tensors in bfloat16, for last.pt.

    Adam's two moments are twice the model's size; halving them lets last.pt travel with the
    font bundle inside a lent machine's 64 MiB. Loading casts them back to the parameters' dtype.
    """
    state = optimizer.state_dict()
    state["state"] = {
        key: {name: value.to(torch.bfloat16) if torch.is_tensor(value) and value.dim() > 0 and value.is_floating_point()
              else value for name, value in entry.items()}
        for key, entry in state["state"].items()
    }
    return state


def lr_at(step: int, config: TrainConfig) -> float:
    """Linear warm-up, then cosine decay to 1 % of the peak."""
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    progress = (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)
    return config.lr * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))))


def evaluate(model: Crnn, loader: DataLoader, charset: list[str], device: torch.device) -> tuple[float, float]:
    """Greedy-decoded CER and line accuracy on the validation loader."""
    model.eval()
    predictions, truths = [], []
    with torch.no_grad():
        for images, labels, _, label_lengths in loader:
            probs = torch.softmax(model(images.to(device)).float(), dim=-1).cpu().numpy()
            offset = 0
            for row, length in zip(probs, label_lengths.tolist()):
                truth_ids = labels[offset : offset + length].tolist()
                offset += length
                truths.append("".join(charset[i - 1] for i in truth_ids))
                predictions.append(greedy_decode(row, charset).text)
    model.train()
    accuracy = sum(p == t for p, t in zip(predictions, truths)) / max(1, len(truths))
    return character_error_rate(predictions, truths), accuracy


def train(config: TrainConfig, out: Path, charset: list[str] | None = None, fonts: list[Path] | None = None,
          sample_text=sample_english_line, log=print, dataset=RenderedLines) -> Path:
    """Train (resuming from ``out/last.pt`` when present) and return the best checkpoint's path."""
    out.mkdir(parents=True, exist_ok=True)
    charset = charset or latin_charset()
    fonts = fonts or latin_training_fonts()
    refuse_reserved_fonts(fonts)  # the evaluation fonts must stay unseen, whatever the caller passes
    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads)
    device = torch.device(config.device)
    shape = CrnnShape(height=config.height, channels=tuple(config.channels), hidden=config.hidden,
                      bottleneck=config.bottleneck)
    model = Crnn(len(charset) + 1, shape).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    ctc = torch.nn.CTCLoss(blank=0, zero_infinity=True)
    start_step, best_cer = 0, float("inf")
    last_path, best_path = out / "last.pt", out / "best.pt"
    if last_path.exists():
        state = torch.load(last_path, map_location=device, weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start_step, best_cer = state["step"], state["best_cer"]
        log(f"resumed from {last_path} at step {start_step}")

    train_set = dataset(config.seed, config.train_size, charset, fonts, sample_text, config.height, config.max_width)
    val_set = dataset(config.seed + 1_000_003, config.val_size, charset, fonts, sample_text, config.height, config.max_width)
    generator = torch.Generator().manual_seed(config.seed)
    # The whole run's sample order is fixed by the seed; a resumed run starts where the last
    # checkpoint stopped instead of rendering and discarding the batches already seen.
    order = torch.randint(len(train_set), (config.steps * config.batch_size,), generator=generator)
    remaining = order[start_step * config.batch_size:].tolist()
    loader = DataLoader(train_set, batch_size=config.batch_size, sampler=remaining, collate_fn=collate_lines,
                        num_workers=config.workers, persistent_workers=config.workers > 0)
    val_loader = DataLoader(val_set, batch_size=config.val_batch_size, collate_fn=collate_lines, num_workers=0)

    use_amp = device.type == "cuda"
    meta = {"config": asdict(config), "charset_size": len(charset), "charset": list(charset)}
    history_path = out / "history.jsonl"
    model.train()
    step, started, running = start_step, time.time(), []
    for images, labels, input_lengths, label_lengths in loader:
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, config)
        images, labels = images.to(device, non_blocking=True), labels.to(device)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=use_amp):
            logits = model(images)
        log_probs = torch.log_softmax(logits.float(), dim=-1).permute(1, 0, 2)  # (T, N, C) for CTC
        loss = ctc(log_probs, labels, input_lengths, label_lengths)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        running.append(loss.item())
        step += 1
        if step % config.log_every == 0:
            log(f"step {step} loss {np.mean(running[-config.log_every:]):.3f} {time.time() - started:.0f}s")
        if step % config.val_every == 0 or step == config.steps:
            cer, accuracy = evaluate(model, val_loader, charset, device)
            record = {"step": step, "loss": float(np.mean(running)), "val_cer": cer, "val_line_acc": accuracy,
                      "lr": lr_at(step - 1, config), "elapsed_s": round(time.time() - started, 1)}
            running = []
            log(json.dumps(record))
            with history_path.open("a") as handle:
                handle.write(json.dumps(record) + "\n")
            if cer < best_cer:
                best_cer = cer
                torch.save({"model": model.state_dict(), "step": step, "val_cer": cer, **meta}, best_path)
            torch.save({"model": model.state_dict(), "optimizer": compact_optimizer_state(optimizer), "step": step,
                        "best_cer": best_cer, **meta}, last_path)
        elif config.max_minutes and time.time() - started > config.max_minutes * 60:
            torch.save({"model": model.state_dict(), "optimizer": compact_optimizer_state(optimizer), "step": step,
                        "best_cer": best_cer, **meta}, last_path)
            log(f"time budget of {config.max_minutes} min spent: stopped at step {step} of {config.steps}; "
                f"run the same command again to resume")
            break
    if not best_path.exists():  # fewer steps than one validation interval
        torch.save({"model": model.state_dict(), "step": step, "val_cer": None, **meta}, best_path)
    return best_path


def finished_steps(out: Path) -> int:
    """Steps the run in ``out`` has completed (0 when it has not started)."""
    last = out / "last.pt"
    if not last.exists():
        return 0
    return int(torch.load(last, map_location="cpu", weights_only=False)["step"])


def load_checkpoint(path: Path) -> tuple[Crnn, dict]:
    state = torch.load(path, map_location="cpu", weights_only=False)
    config = state["config"]
    shape = CrnnShape(height=config["height"], channels=tuple(config["channels"]), hidden=config["hidden"],
                      bottleneck=config.get("bottleneck", 0))
    model = Crnn(state["charset_size"] + 1, shape)
    model.load_state_dict(state["model"])
    model.eval()
    return model, state


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--steps", type=int, default=TrainConfig.steps)
    parser.add_argument("--seed", type=int, default=TrainConfig.seed)
    parser.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    parser.add_argument("--workers", type=int, default=TrainConfig.workers)
    parser.add_argument("--threads", type=int, default=TrainConfig.threads)
    parser.add_argument("--device", default=TrainConfig.device)
    parser.add_argument("--val-every", type=int, default=TrainConfig.val_every)
    args = parser.parse_args(argv)
    random.seed(args.seed)
    config = TrainConfig(seed=args.seed, steps=args.steps, batch_size=args.batch_size, workers=args.workers,
                         threads=args.threads, device=args.device, val_every=args.val_every)
    best = train(config, args.out)
    print(f"best checkpoint: {best}")


if __name__ == "__main__":
    main()
