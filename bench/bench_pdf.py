"""PDF input and searchable PDF output: the overhead, the size growth, the text layer's fidelity.

    python bench/bench_pdf.py [--runs 3] [--dpi 200 300] [--set engine.threads=1]

One scan-like A4 page (300 dpi JPEG, grey paper, speckles, 24 lines of text) is recognized in the
same run as a PNG and as an image-only PDF, alternately, so the machine's state is shared:
seconds per page for each and the PDF overhead. Then: the searchable PDF's size against the input
PDF, ``pdftotext``'s text against our JSON text (CER), what each ``--dpi`` reads against the
text drawn (the measurement behind ``pdf.dpi: null``), and how long a 2,000-page and a
20,000 x 20,000-pt PDF take to be refused. Prints a table and writes bench/results/bench_pdf-*.json.
"""
from __future__ import annotations

import argparse
import io
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edgeocr.cli import parse_override  # noqa: E402
from edgeocr.config import Config, with_overrides  # noqa: E402
from edgeocr.engine import Engine  # noqa: E402
from edgeocr.pdf_output import searchable_pdf  # noqa: E402
from bench.results_io import write_results  # noqa: E402
from tests.pdf_samples import blank_pdf, cer, image_pdf, page_image, squash  # noqa: E402

LINES = [
    "ACME Office Supplies Ltd", "Invoice 2026-0417", "Date: 02 December 2026", "Customer number 88120",
    "Item Qty Price", "Printer paper A4 5 24.95", "Toner cartridge black 1 79.00", "Stapler heavy duty 2 31.80",
    "Folders blue pack of 10 3 12.60", "Subtotal 148.35", "VAT 19% 28.19", "TOTAL 176.54 EUR",
    "Payment within 14 days", "Bank transfer to the account below", "IBAN DE89 3704 0044 0532 0130 00",
    "办公用品发票", "总计金额人民币", "Thank you for your order", "Questions? Call 0800 123 456",
    "Delivery address: 12 Market Street", "Springfield 4021", "Order reference PO-7781",
    "Signed: J. Smith", "Page 1 of 1",
]


def scan_page() -> tuple[bytes, bytes, str]:
    """(PNG, image-only PDF, the text drawn) of one A4 page at 300 dpi."""
    image = page_image(LINES, size=(2480, 3508), font_size=42, noise=True)
    png = io.BytesIO()
    image.save(png, "PNG", dpi=(300, 300))
    return png.getvalue(), image_pdf([image]), "\n".join(LINES)


def timed(function, *args):
    started = time.perf_counter()
    value = function(*args)
    return time.perf_counter() - started, value


def refusal_seconds(engine: Engine, data: bytes) -> tuple[float, str]:
    seconds, result = timed(engine.run_document, data)
    return seconds, result.get("error", {}).get("code", "accepted")


def pdftotext(data: bytes) -> str:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(data)
        handle.flush()
        return subprocess.run(["pdftotext", "-enc", "UTF-8", handle.name, "-"], capture_output=True,
                              check=True).stdout.decode("utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dpi", type=int, nargs="*", default=[200, 300], help="render resolutions to compare")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    config = with_overrides(Config(), dict(parse_override(item) for item in args.set)) if args.set else Config()
    engine = Engine(config)
    png, pdf, truth = scan_page()
    engine.run_document(png)  # warm-up: first-run allocations are not the PDF's fault
    png_times, pdf_times = [], []
    for _ in range(args.runs):
        png_times.append(timed(engine.run_document, png)[0])
        seconds, pdf_result = timed(engine.run_document, pdf)
        pdf_times.append(seconds)
    png_s, pdf_s = statistics.median(png_times), statistics.median(pdf_times)
    output_seconds, searchable = timed(searchable_pdf, pdf, pdf_result)
    layer_cer = cer(squash(pdf_result["text"]), squash(pdftotext(searchable)))
    by_dpi = {}
    for dpi in args.dpi:
        other = Engine(with_overrides(config, {"pdf.dpi": dpi}))
        result = other.run_document(pdf)
        by_dpi[dpi] = {"cer_vs_drawn": round(cer(squash(truth), squash(result["text"])), 4),
                       "seconds": round(result["total_time"], 3)}
    bomb_s, bomb_code = refusal_seconds(engine, blank_pdf(2000))
    huge_s, huge_code = refusal_seconds(engine, blank_pdf(1, 20_000, 20_000))
    results = {
        "pack": f"{engine.pack.name} {engine.pack.version}", "threads": engine.threads, "runs": args.runs,
        "auto_dpi": pdf_result["pages"][0]["pdf"]["dpi"],
        "png_seconds_per_page": round(png_s, 3), "pdf_seconds_per_page": round(pdf_s, 3),
        "pdf_overhead_percent": round(100 * (pdf_s - png_s) / png_s, 1),
        "input_pdf_bytes": len(pdf), "searchable_pdf_bytes": len(searchable),
        "size_growth_percent": round(100 * (len(searchable) - len(pdf)) / len(pdf), 2),
        "write_seconds": round(output_seconds, 3), "pdftotext_cer_vs_json": round(layer_cer, 4),
        "json_cer_vs_drawn": round(cer(squash(truth), squash(pdf_result["text"])), 4), "by_dpi": by_dpi,
        "refuse_2000_pages": {"seconds": round(bomb_s, 3), "code": bomb_code},
        "refuse_20000pt_page": {"seconds": round(huge_s, 3), "code": huge_code},
    }
    rows = [("PNG s/page", results["png_seconds_per_page"]), ("PDF s/page", results["pdf_seconds_per_page"]),
            ("PDF overhead %", results["pdf_overhead_percent"]), ("auto dpi", results["auto_dpi"]),
            ("input PDF bytes", len(pdf)), ("searchable PDF bytes", len(searchable)),
            ("size growth %", results["size_growth_percent"]), ("text layer write s", results["write_seconds"]),
            ("pdftotext CER vs JSON", results["pdftotext_cer_vs_json"]),
            ("JSON CER vs drawn text", results["json_cer_vs_drawn"])]
    rows += [(f"CER at {dpi} dpi (s)", f"{v['cer_vs_drawn']} ({v['seconds']})") for dpi, v in by_dpi.items()]
    rows += [("refuse 2,000 pages s", f"{bomb_s:.3f} ({bomb_code})"),
             ("refuse 20,000 pt page s", f"{huge_s:.3f} ({huge_code})")]
    table = "\n".join(f"{name:<26} {value}" for name, value in rows)
    print(table)
    write_results(args.out, "bench_pdf", results, table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
