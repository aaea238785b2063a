"""``edgeocr watch`` and ``edgeocr run``: one process, the main thread handling signals.

SIGTERM/SIGINT: stop taking files, finish the ones in hand, exit 0. SIGHUP: reload the config
(re-validated; an invalid file is logged and the running config kept). systemd ``Type=notify``:
READY=1 once the inbox is watched, WATCHDOG=1 at half of ``WATCHDOG_USEC`` while the threads that
do the work are alive, RELOADING=1/READY=1 around a reload, STOPPING=1 on the way out.
"""
from __future__ import annotations

import logging
import signal
import threading
import time
from typing import Any, Callable

from ..config import Config
from ..logs import setup_logging  # the format every command shares: time, level, component

log = logging.getLogger("edgeocr.daemon")


def _sdnotify() -> tuple[Callable[[str], bool], Callable[[], float | None]]:
    """The sources helper's ``edgeocr.sdnotify``; harmless no-ops where it is missing."""
    try:
        from .. import sdnotify
    except ImportError:
        return (lambda state: False), (lambda: None)
    return sdnotify.notify, sdnotify.watchdog_interval


class _Signals:
    """Handlers only set flags: the main loop acts on them (nothing here may block or lock)."""

    def __init__(self) -> None:
        self.stop = False
        self.reload = False

    def install(self) -> None:
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGHUP, self._on_reload)

    def _on_stop(self, signum: int, frame: Any) -> None:
        self.stop = True

    def _on_reload(self, signum: int, frame: Any) -> None:
        self.reload = True


def _start_extras(service: Any, config: Config, stop_event: threading.Event) -> tuple[list[threading.Thread], Any]:
    """Camera/stdin sources and the web server, each only when enabled in the config."""
    threads: list[threading.Thread] = []
    sources = getattr(config, "sources", None)
    for name, runner_name in (("stdin", "run_stdin_source"), ("camera", "run_camera_source")):
        section = getattr(sources, name, None) if sources is not None else None
        if section is None or not getattr(section, "enabled", False):
            continue
        from .. import sources as sources_pkg
        runner = getattr(sources_pkg, runner_name)

        def target(run=runner, label=name) -> None:
            try:
                run(service.engine, config, stop_event)
            except Exception:
                log.exception("%s source stopped with an error; the folders keep running", label)

        thread = threading.Thread(target=target, name=f"edgeocr-{name}", daemon=True)
        thread.start()
        threads.append(thread)
        log.info("%s source started", name)
    web = None
    web_config = getattr(config, "web", None)
    if web_config is not None and getattr(web_config, "enabled", False):
        from ..web.server import WebServer
        web = WebServer(service.engine, config, extra_health=service.health)
        if getattr(service, "remote", None) is not None:  # daemon.broker: workers, queued, in flight
            from ..cluster.dispatcher import metrics_lines
            web.state.extra_metrics = lambda: metrics_lines(service.remote.health())
        web.start()
    return threads, web


def serve(config: Config, config_loader: Callable[[], Config] | None, with_extras: bool,
          engine: Any = None) -> int:
    """Run until SIGTERM/SIGINT; returns the exit status (0 after a clean stop)."""
    from .service import Service

    notify, watchdog_interval = _sdnotify()
    signals = _Signals()
    signals.install()
    service = Service(config, engine=engine, config_loader=config_loader,
                      command="edgeocr run" if with_extras else "edgeocr watch")
    service.start()
    stop_event = threading.Event()
    threads: list[threading.Thread] = []
    web = None
    try:
        if with_extras:
            threads, web = _start_extras(service, config, stop_event)
        service.ready.wait(30)
        notify("READY=1")
        interval = watchdog_interval()
        next_ping = time.monotonic()
        while not signals.stop:
            if signals.reload:
                signals.reload = False
                notify("RELOADING=1")
                service.reload()
                notify("READY=1")
            if interval and time.monotonic() >= next_ping:
                if service.healthy():
                    notify("WATCHDOG=1")
                else:
                    log.error("a daemon thread died; withholding the watchdog keep-alive so systemd restarts us")
                next_ping = time.monotonic() + interval
            time.sleep(0.25)  # a signal's flag is acted on within this long
    finally:
        notify("STOPPING=1")
        log.info("stopping: finishing the files in hand, the rest stay in the inbox")
        stop_event.set()
        if web is not None:
            try:
                web.stop()
            except Exception:  # the folders must still be stopped cleanly
                log.exception("web server did not stop cleanly")
        clean = service.stop(timeout=8.0)
        for thread in threads:
            thread.join(2.0)
    if clean:
        log.info("stopped")
    else:  # the journal resumes that file at the next start, into the same destination
        log.warning("stopped while a worker was still busy; its file stays in the inbox for the next start")
    return 0


def add_folder_options(parser: Any) -> None:
    """Shortcuts for the daemon keys a command line most often sets (all others: ``--set``)."""
    parser.add_argument("--inbox", metavar="DIR", help="folder to watch (daemon.inbox)")
    parser.add_argument("--processed", metavar="DIR", help="results go here (daemon.processed)")
    parser.add_argument("--failed", metavar="DIR", help="failures go here (daemon.failed)")
    parser.add_argument("--state-dir", metavar="DIR", help="the journal's folder (daemon.state_dir)")
    parser.add_argument("--mode", choices=["move", "in-place"], help="daemon.mode")
    parser.add_argument("--workers", type=int, help="worker threads (daemon.workers)")


FLAGS = {"daemon.inbox": "--inbox", "daemon.processed": "--processed", "daemon.failed": "--failed",
         "daemon.state_dir": "--state-dir", "daemon.mode": "--mode", "daemon.workers": "--workers"}


def folder_overrides(args: Any) -> dict[str, Any]:
    return {"daemon.inbox": args.inbox, "daemon.processed": args.processed, "daemon.failed": args.failed,
            "daemon.state_dir": args.state_dir, "daemon.mode": args.mode, "daemon.workers": args.workers}


def main(args: Any, load: Callable[..., Config], with_extras: bool) -> int:
    """Entry point for ``edgeocr watch`` (``with_extras=False``) and ``edgeocr run`` (True).

    ``load(args, extra=...)`` is the CLI's config loader; SIGHUP calls it again, so a reload sees
    the same file and the same command-line overrides.
    """
    setup_logging()
    extra = folder_overrides(args)
    config = load(args, extra=extra, flags=FLAGS)
    return serve(config, lambda: load(args, extra=extra, flags=FLAGS), with_extras)
