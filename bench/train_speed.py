"""Training throughput of a profile: render cost per line and seconds per optimizer step.

    python3 bench/train_speed.py                                  # zh-en, CPU, 1 thread, batches 32 and 64
    python3 bench/train_speed.py --device cuda --batches 256 512  # on a lent accelerator

Rendering is timed in CPU seconds per line (``time.process_time``), so a busy shared machine
still gives the figure one free core would; with W rendering workers the loader delivers about
W / that many lines a second. A step (forward, CTC loss, backward, AdamW) is timed in CPU
seconds on the CPU and in wall seconds with ``torch.cuda.synchronize`` on CUDA, bf16 autocast as
in train.py. Together they say whether a run is bound by rendering or by the model, and how long
``steps x batch`` takes. Prints a Markdown table; JSON goes to bench/results/.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from edgeocr.train.dataset import RenderedLines, collate_lines  # noqa: E402
from edgeocr.train.model import Crnn, CrnnShape  # noqa: E402
from edgeocr.train.profiles import get_profile  # noqa: E402


def render_cost(dataset: RenderedLines, count: int) -> tuple[float, list]:
    for index in range(min(200, count)):  # warm the glyph-coverage caches, as a long run has them
        dataset[index]
    started = time.process_time()
    items = [dataset[index] for index in range(200, 200 + count)]
    return (time.process_time() - started) / count, items


def step_cost(model: Crnn, batch, device: torch.device, repeats: int) -> float:
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    ctc = torch.nn.CTCLoss(blank=0, zero_infinity=True)
    images, labels, input_lengths, label_lengths = batch
    images, labels = images.to(device), labels.to(device)
    cuda = device.type == "cuda"
    clock = time.perf_counter if cuda else time.process_time
    times = []
    for _ in range(repeats + 1):
        started = clock()
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=cuda):
            logits = model(images)
        loss = ctc(torch.log_softmax(logits.float(), dim=-1).permute(1, 0, 2), labels, input_lengths, label_lengths)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if cuda:
            torch.cuda.synchronize()
        times.append(clock() - started)
    return statistics.median(times[1:])  # the first step pays for allocation and kernel choice


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--charset", default="zh-en")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batches", type=int, nargs="+", default=[32, 64])
    parser.add_argument("--lines", type=int, default=300, help="lines rendered for the render cost")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    profile = get_profile(args.charset)
    config = profile.train
    dataset = RenderedLines(config.seed, 10**7, profile.charset(), profile.fonts(), profile.sample_text,
                            config.height, config.max_width)
    per_line, items = render_cost(dataset, max(args.lines, max(args.batches)))
    device = torch.device(args.device)
    shape = CrnnShape(config.height, tuple(config.channels), config.hidden, config.bottleneck)
    model = Crnn(len(profile.charset()) + 1, shape).to(device)
    rows = []
    for size in args.batches:
        batch = collate_lines(items[:size])
        seconds = step_cost(model, batch, device, args.repeats)
        rows.append({"batch": size, "width": int(batch[0].shape[-1]), "step_s": seconds,
                     "ms_per_line": seconds / size * 1000})
    results = {"charset": args.charset, "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
               "threads": args.threads, "params": sum(p.numel() for p in model.parameters()),
               "render_cpu_ms_per_line": per_line * 1000, "steps": rows}
    clock = "wall s (CUDA, bf16)" if device.type == "cuda" else f"CPU s ({args.threads} thread)"
    table = [f"{args.charset} model, {results['params'] / 1e6:.2f} M parameters, on {results['device']}; "
             f"rendering {results['render_cpu_ms_per_line']:.2f} CPU ms per line", "",
             f"| batch | padded width | {clock} per step | ms per line |", "|---|---|---|---|"]
    table += [f"| {r['batch']} | {r['width']} | {r['step_s']:.3f} | {r['ms_per_line']:.2f} |" for r in rows]
    text = "\n".join(table)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"train_speed-{args.charset}-{args.device.split(':')[0]}-latest.json").write_text(
        json.dumps({**results, "table": text}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
