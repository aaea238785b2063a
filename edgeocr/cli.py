"""The ``edgeocr`` command: ``ocr`` files or stdin, ``models list|verify``, ``version``.

Exit status: 0 all inputs recognized, 1 at least one input failed (the others are still
processed), 2 usage error, 78 configuration or model pack error (EX_CONFIG, which systemd units
can exclude from restarts).
"""
from __future__ import annotations

import argparse
import json
import os
import stat
import sys
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from . import __version__
from .config import Config, default_config_path, load_config, with_overrides
from .daemon import command as daemon_command
from .errors import ConfigError, EdgeOcrError, FileReadError, ImageTooLargeError, ModelPackError, PdfOutputError
from .packs import find_pack_dir, list_packs, load_pack
from .result import error_dict

EXIT_OK, EXIT_INPUT_FAILED, EXIT_USAGE, EXIT_CONFIG = 0, 1, 2, 78


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="edgeocr", description="OCR for small machines.")
    parser.add_argument("--version", action="version", version=f"edgeocr {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    ocr = sub.add_parser("ocr", help="recognize text in image files (or - for stdin)")
    ocr.add_argument("inputs", nargs="+", metavar="FILE", help="image files; - reads one image from stdin")
    add_config_options(ocr)
    output = ocr.add_mutually_exclusive_group()
    output.add_argument("--jsonl", action="store_true", help="one JSON object per line")
    output.add_argument("--text", action="store_true", help="plain text only, one line per text line")
    ocr.add_argument("--pdf", type=Path, metavar="OUT.pdf",
                     help="also write a searchable PDF (the input pages with an invisible text layer); one input only")

    models = sub.add_parser("models", help="list or verify model packs")
    models_sub = models.add_subparsers(dest="models_command", required=True)
    listing = models_sub.add_parser("list", help="list the installed packs")
    listing.add_argument("--models-dir", help="folder holding packs (engine.models_dir)")
    importer = models_sub.add_parser("import", help="build the ppocrv6-small pack from the rapidocr wheel (pack-build time)")
    importer.add_argument("--wheel", help="a downloaded rapidocr 3.10.0 wheel (default: pip download it)")
    importer.add_argument("--out", default="models/ppocrv6-small", help="the pack folder to write")
    importer.add_argument("--no-int8", action="store_true", help="only the upstream FP32 files")
    verify = models_sub.add_parser("verify", help="check every file and checksum of a pack (default: all)")
    verify.add_argument("pack", nargs="?", help="pack name or folder")
    verify.add_argument("--models-dir", help="folder holding packs (engine.models_dir)")

    stream = sub.add_parser("stream", help="OCR an MJPEG stream or one image from stdin, one JSON line per frame")
    add_config_options(stream)
    stream.add_argument("--single", action="store_true", help="stdin is one image of any type (sources.stdin.mode=single)")
    stream.add_argument("--output", metavar="PATH", help="- for stdout, or a file to append the JSON lines to (sources.output)")
    stream.add_argument("--save-frames", metavar="DIR", help="also save each frame and its sidecar here (sources.save_frames_dir)")

    serve = sub.add_parser("serve", help="serve the web page and the HTTP API (POST /ocr) alone")
    add_config_options(serve)
    serve.add_argument("--host", help="address to bind (web.host; default 127.0.0.1, loopback only)")
    serve.add_argument("--port", type=int, help="port to listen on (web.port; 0 picks a free one)")

    for name, help_text in (("watch", "watch the inbox folder: images in, JSON sidecars out (until SIGTERM)"),
                            ("run", "the daemon: the inbox folder plus the enabled sources and web server")):
        daemon = sub.add_parser(name, help=help_text)
        add_config_options(daemon)
        daemon_command.add_folder_options(daemon)

    worker = sub.add_parser("worker", help="take OCR jobs from a Redis broker (see daemon.broker), until SIGTERM")
    worker.add_argument("--broker", metavar="URL", help="redis://[:PASSWORD@]HOST:PORT/DB or rediss:// (default: daemon.broker)")
    worker.add_argument("--threads", dest="job_threads", type=int, default=1, help="jobs run at once (default 1)")
    worker.add_argument("--config", type=Path, help="YAML config (default: the shipped config/edgeocr.yaml)")
    worker.add_argument("--pack", help="model pack name or folder (engine.pack); must match the dispatcher's")
    worker.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override any config key")
    worker.set_defaults(detector=None, beam_width=None, threads=None)  # engine shortcuts: only --set here

    sub.add_parser("version", help="print the version")
    return parser


def add_config_options(parser: argparse.ArgumentParser) -> None:
    """The options every engine-running subcommand shares: config file, engine shortcuts, ``--set``."""
    parser.add_argument("--config", type=Path, help="YAML config (default: the shipped config/edgeocr.yaml)")
    parser.add_argument("--pack", help="model pack name or folder (engine.pack)")
    choices, described = detector_choices()
    parser.add_argument("--detector", choices=choices, help=f"engine.detector: {described}")
    parser.add_argument("--beam-width", type=int, help="CTC beam width, 0 = greedy (engine.beam_width)")
    parser.add_argument("--threads", type=int, help="ONNX Runtime threads (engine.threads)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override any config key, e.g. --set preprocess.clahe=true (repeatable)")


def detector_choices(models_dir: str | None = None) -> tuple[list[str], str]:
    """The ``--detector`` values the installed packs offer, and a line saying which pack has which.

    ``auto`` (each pack's own) and ``classical`` (no model, beside every pack) always exist; a model
    detector such as ``db`` is offered only when some installed pack ships one.
    """
    packs_of: dict[str, list[str]] = {}
    for directory in list_packs(models_dir):
        try:
            pack = load_pack(directory, verify=False)
        except ModelPackError:
            continue  # a broken pack offers nothing; `edgeocr models verify` says why
        if pack.detector.type != "classical":
            packs_of.setdefault(pack.detector.type, []).append(pack.name)
    described = ", ".join(["auto (the pack's own)", "classical (any pack)"]
                          + [f"{kind} (pack {', '.join(names)})" for kind, names in sorted(packs_of.items())])
    return ["auto", "classical", *sorted(packs_of)], described


def parse_override(item: str) -> tuple[str, Any]:
    """``key=value`` with the value read as YAML, so numbers, booleans and null keep their type."""
    import yaml

    if "=" not in item:
        raise ConfigError(f"--set {item}: expected KEY=VALUE")
    key, raw = item.split("=", 1)
    return key.strip(), yaml.safe_load(raw) if raw else ""


ENGINE_FLAGS = {"engine.pack": "--pack", "engine.detector": "--detector", "engine.beam_width": "--beam-width",
                "engine.threads": "--threads"}


def load_cli_config(args: argparse.Namespace, extra: dict[str, Any] | None = None,
                    flags: dict[str, str] | None = None) -> Config:
    """The config file (or the shipped default) with ``--set`` and the engine shortcuts applied.

    ``extra`` carries a subcommand's own dotted-key shortcuts (``{"web.port": 9000}``); ``None``
    values are skipped, so unset flags keep the file's value. ``flags`` names the flag behind each
    of them (``{"web.port": "--port"}``): a bad value is reported as coming from that flag.
    """
    path = args.config if args.config is not None else default_config_path()
    config = load_config(path)
    overrides: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for item in args.set:
        key, value = parse_override(item)
        overrides[key], origins[key] = value, f"--set {item}"
    shortcuts = {key: getattr(args, flag[2:].replace("-", "_")) for key, flag in ENGINE_FLAGS.items()}
    for key, value in {**shortcuts, **(extra or {})}.items():
        if value is not None:
            overrides[key] = value
            origins[key] = ENGINE_FLAGS.get(key) or (flags or {}).get(key, "command line")
    return with_overrides(config, overrides, origins) if overrides else config


def read_input(name: str, max_bytes: int, stdin: BinaryIO) -> bytes:
    """Read at most ``max_bytes`` (+1 to notice more) from a regular file or stdin."""
    if name == "-":
        data = stdin.read(max_bytes + 1)
    else:
        try:
            with open(name, "rb") as handle:
                mode = os.fstat(handle.fileno()).st_mode
                if not stat.S_ISREG(mode):
                    raise FileReadError(f"{name}: not a regular file")
                data = handle.read(max_bytes + 1)
        except FileNotFoundError:
            raise FileReadError(f"{name}: no such file") from None
        except IsADirectoryError:
            raise FileReadError(f"{name}: is a directory") from None
        except PermissionError:
            raise FileReadError(f"{name}: permission denied") from None
        except OSError as exc:
            raise FileReadError(f"{name}: cannot read: {exc.strerror}") from None
    if len(data) > max_bytes:
        raise ImageTooLargeError(f"input is larger than {max_bytes} bytes (engine.max_bytes)")
    return data


def _emit(result: dict[str, Any], args: argparse.Namespace, stdout: TextIO, many: bool) -> None:
    if args.text:
        if result.get("success"):
            text = result["text"]
            stdout.write(text + ("\n" if text else ""))
    elif args.jsonl or many:
        stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
    else:
        stdout.write(json.dumps(result, ensure_ascii=False, indent=2) + "\n")


def _cmd_ocr(args: argparse.Namespace, stdin: BinaryIO, stdout: TextIO, stderr: TextIO) -> int:
    from .engine import Engine

    if args.pdf is not None and len(args.inputs) != 1:
        stderr.write("edgeocr: --pdf takes exactly one input\n")
        return EXIT_USAGE
    config = load_cli_config(args)
    engine = Engine(config, *config.engine.variants())
    status = EXIT_OK
    many = len(args.inputs) > 1
    for name in args.inputs:
        try:
            data = read_input(name, config.engine.max_bytes, stdin)
            result = engine.run_document(data)  # PDFs and multi-page TIFFs give pages: [...]
            if not result.get("success"):
                raise _ResultError(result["error"]["code"], result["error"]["message"])
            if args.pdf is not None:
                from .fileio import atomic_write
                from .pdf_output import searchable_pdf

                try:
                    atomic_write(args.pdf, searchable_pdf(data, result))
                except OSError as exc:
                    raise PdfOutputError(f"{args.pdf}: cannot write: {exc.strerror}") from None
        except EdgeOcrError as exc:
            result = error_dict(exc.code, exc.message)
            stderr.write(f"edgeocr: {'<stdin>' if name == '-' else name}: {exc.code}: {exc.message}\n")
            status = EXIT_INPUT_FAILED
        result["source"] = "<stdin>" if name == "-" else name
        _emit(result, args, stdout, many)
    return status


class _ResultError(EdgeOcrError):
    """An error the engine already reported as a result dict, raised again to be printed."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _cmd_stream(args: argparse.Namespace, stdin: BinaryIO, stdout: TextIO) -> int:
    import signal
    import threading

    from .engine import Engine
    from .sources.sink import FrameSink
    from .sources.stdin import run_stdin_source

    config = load_cli_config(args, extra={"sources.stdin.mode": "single" if args.single else None,
                                          "sources.output": args.output, "sources.save_frames_dir": args.save_frames})
    engine = Engine(config, *config.engine.variants())
    stop = threading.Event()
    # SIGTERM ends the stream after the frame in hand; the reader notices within half a second.
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        with FrameSink(config.sources.output, config.sources.save_frames_dir,
                       stdout if config.sources.output == "-" else None) as sink:
            return run_stdin_source(engine, config, stop, stdin, sink)
    except BrokenPipeError:
        # The reader went away (`| head -1`): it has what it wanted. Point stdout at /dev/null so
        # the interpreter's last flush does not fail with a second traceback.
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return EXIT_OK
    finally:
        signal.signal(signal.SIGTERM, previous)


def _cmd_serve(args: argparse.Namespace, stderr: TextIO) -> int:
    from .engine import Engine
    from .logs import setup_logging
    from .web.server import WebServer

    setup_logging()  # the one format (edgeocr/logs.py), as watch and run use
    config = load_cli_config(args, extra={"web.host": args.host, "web.port": args.port},
                             flags={"web.host": "--host", "web.port": "--port"})
    server = WebServer(Engine(config, *config.engine.variants()), config)
    try:
        server.serve_forever()
    except OSError as exc:  # the port is taken, or the address is not ours
        stderr.write(f"edgeocr: cannot listen on {config.web.host}:{config.web.port}: {exc.strerror or exc}\n")
        return EXIT_CONFIG
    return EXIT_OK


def pack_table(directories: list) -> str:
    """One row per pack: what it reads, its size and licence, and what it measured (pack.yaml metrics)."""
    rows = [("NAME", "VERSION", "SCRIPTS", "SIZE", "LICENCE", "MODELS", "SROIE F1", "LINE CER", "RECEIPT P50", "PATH")]
    for directory in directories:
        try:
            pack = load_pack(directory, verify=False)
        except ModelPackError as exc:
            rows.append((directory.name, "-", "-", "-", "-", f"broken: {exc.message}", "-", "-", "-", str(directory)))
            continue
        summary = pack.metrics.get("summary") or {}
        models = f"{pack.detector.type}+{pack.recognizer.type}" + (f"+{pack.classifier.type}" if pack.classifier else "")
        def fmt(key: str, pattern: str) -> str:
            return pattern.format(summary[key]) if isinstance(summary.get(key), (int, float)) else "-"
        rows.append((pack.name, pack.version, ",".join(pack.scripts), f"{pack.size_bytes() / 1e6:.1f} MB", pack.license,
                     models, fmt("sroie_word_f1", "{:.3f}"), fmt("sroie_line_cer", "{:.1%}"),
                     fmt("receipt_p50_s", "{:.2f} s"), str(directory)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() + "\n" for row in rows)


def _cmd_models(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    if args.models_command == "list":
        stdout.write(pack_table(list_packs(args.models_dir)))
        return EXIT_OK
    if args.models_command == "import":
        from .pack_import import main as import_main

        return import_main(["--out", args.out] + (["--wheel", args.wheel] if args.wheel else [])
                           + (["--no-int8"] if args.no_int8 else []))
    directories = [find_pack_dir(args.pack, args.models_dir)] if args.pack else list_packs(args.models_dir)
    if not directories:
        stderr.write("edgeocr: no model packs found\n")
        return EXIT_CONFIG
    status = EXIT_OK
    for directory in directories:
        try:
            pack = load_pack(directory, verify=True)
            stdout.write(f"ok\t{pack.name} {pack.version}\t{len(pack.files)} files verified\n")
        except ModelPackError as exc:
            stderr.write(f"edgeocr: {exc.message}\n")
            stdout.write(f"FAILED\t{directory.name}\n")
            status = EXIT_CONFIG
    return status


def main(argv: list[str] | None = None, stdin: BinaryIO | None = None, stdout: TextIO | None = None,
         stderr: TextIO | None = None) -> int:
    stdin = stdin or sys.stdin.buffer
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    args = _build_parser().parse_args(argv)
    try:
        if args.command == "ocr":
            return _cmd_ocr(args, stdin, stdout, stderr)
        if args.command == "serve":
            return _cmd_serve(args, stderr)
        if args.command == "models":
            return _cmd_models(args, stdout, stderr)
        if args.command in ("watch", "run"):
            return daemon_command.main(args, load_cli_config, with_extras=args.command == "run")
        if args.command == "worker":
            from .cluster.worker import main as worker_main

            return worker_main(args, load_cli_config)
        if args.command == "stream":
            return _cmd_stream(args, stdin, stdout)
        stdout.write(f"edgeocr {__version__}\n")
        return EXIT_OK
    except (ConfigError, ModelPackError) as exc:
        stderr.write(f"edgeocr: {exc.message}\n")
        return EXIT_CONFIG
