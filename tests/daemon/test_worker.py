"""One input through the Processor with the real engine: every outcome, on real files."""
from __future__ import annotations

import errno
import io
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from edgeocr.cache import ResultCache
from edgeocr.config import config_from_dict
from edgeocr.daemon import outputs as outputs_module
from edgeocr.daemon.journal import Journal
from edgeocr.daemon.outputs import Outputs
from edgeocr.daemon.worker import DONE, FAILED, GONE, RETRY, Processor
from tests.daemon.conftest import SAMPLES, make_config, read_json
from tests.rendering import encode, render_lines


class Counting:
    """The real engine, counting how often the models actually run (for the resume test)."""

    def __init__(self, engine) -> None:
        self.engine, self.runs = engine, 0

    def __getattr__(self, name):
        return getattr(self.engine, name)

    def run_document(self, data):
        self.runs += 1
        return self.engine.run_document(data)


def make_processor(root: Path, engine, **overrides) -> Processor:
    config = make_config(root, **overrides)
    daemon = config.daemon
    for key in ("inbox", "processed", "failed"):
        Path(getattr(daemon, key)).mkdir(parents=True, exist_ok=True)
    folders = Outputs(Path(daemon.inbox), Path(daemon.processed), Path(daemon.failed), daemon.mode, daemon.write_text)
    return Processor(folders, Journal(Path(daemon.state_dir)), ResultCache(daemon.cache_entries),
                     lambda: engine, lambda: daemon)


def put(processor: Processor, rel: str, data: bytes) -> Path:
    path = processor.folders.inbox / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_success_sidecar_holds_result_and_provenance(tmp_path, engine, images):
    processor = make_processor(tmp_path, engine)
    put(processor, "shop/a.png", images["total"])
    assert processor.process("shop/a.png") == (DONE, 0.0)
    sidecar = read_json(tmp_path / "processed" / "shop" / "a.png.json")
    assert sidecar["success"] and sidecar["text"] == SAMPLES["total"][0]
    assert sidecar["source"] == "shop/a.png" and sidecar["attempts"] == 1
    assert sidecar["sha256"] == sidecar["image"]["sha256"]
    assert sidecar["received_at"].endswith("Z") and sidecar["processed_at"] >= sidecar["received_at"]
    assert (tmp_path / "processed" / "shop" / "a.png").read_bytes() == images["total"]
    assert not (tmp_path / "inbox" / "shop" / "a.png").exists()
    assert processor.journal.get("shop/a.png").state == "done"


def test_identical_content_is_served_from_the_cache(tmp_path, engine, images):
    counting = Counting(engine)
    processor = make_processor(tmp_path, counting)
    put(processor, "a.png", images["cash"])
    put(processor, "b.png", images["cash"])
    assert processor.process("a.png")[0] == DONE
    assert processor.process("b.png")[0] == DONE
    assert counting.runs == 1 and processor.stats.cache_hits == 1
    assert read_json(tmp_path / "processed" / "b.png.json")["text"] == SAMPLES["cash"][0]
    assert read_json(tmp_path / "processed" / "b.png.json")["source"] == "b.png"


def test_blank_page_is_a_success_without_lines(tmp_path, engine):
    processor = make_processor(tmp_path, engine)
    put(processor, "blank.png", encode(render_lines([" "])))
    assert processor.process("blank.png")[0] == DONE
    assert read_json(tmp_path / "processed" / "blank.png.json")["text_lines"] == []


@pytest.mark.parametrize("name, data, code", [
    ("zero.png", b"", "bad_image"),
    ("notes.jpg", b"shopping list: milk, bread\n", "bad_image"),           # an image name, text inside
    ("report.pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "pdf_broken"),  # PDFs are read now; this one is cut off
    ("cut.png", None, "bad_image"),                                       # truncated: second half missing
    ("garbage.png", None, "bad_image"),                                   # PNG signature, random body
])
def test_bad_inputs_go_to_failed_with_the_engine_code(tmp_path, engine, images, name, data, code):
    if name == "cut.png":
        data = images["total"][: len(images["total"]) // 2]
    elif name == "garbage.png":
        data = images["total"][:8] + os.urandom(2000)
    processor = make_processor(tmp_path, engine)
    put(processor, name, data)
    assert processor.process(name)[0] == FAILED
    report = read_json(tmp_path / "failed" / f"{name}.error.json")
    assert report["error"]["code"] == code and report["source"] == name
    assert report["history"][-1]["code"] == code
    assert (tmp_path / "failed" / name).read_bytes() == data  # nothing lost
    assert not (tmp_path / "processed").joinpath(name).exists()


def test_over_size_files_fail_before_decoding(tmp_path, engine, images):
    from edgeocr.engine import Engine

    small = Engine(config_from_dict({"engine": {"max_bytes": 4000, "max_pixels": 20_000}}))
    processor = make_processor(tmp_path, small)
    put(processor, "big-bytes.png", images["total"] + b"\0" * 5000)
    put(processor, "big-pixels.png", encode(np.full((300, 400, 3), 255, np.uint8)))  # 120,000 px, a few bytes
    assert len((tmp_path / "inbox" / "big-pixels.png").read_bytes()) < 4000  # only the pixel limit applies
    for name in ("big-bytes.png", "big-pixels.png"):
        assert processor.process(name)[0] == FAILED
        report = read_json(tmp_path / "failed" / f"{name}.error.json")
        assert report["error"]["code"] == "image_too_large", report


def test_symlink_out_of_the_inbox_is_refused_and_moved_itself(tmp_path, engine, images):
    processor = make_processor(tmp_path, engine)
    secret = tmp_path / "secret.png"
    secret.write_bytes(images["total"])
    (tmp_path / "inbox").mkdir(exist_ok=True)
    (tmp_path / "inbox" / "link.png").symlink_to(secret)
    assert processor.process("link.png")[0] == FAILED
    report = read_json(tmp_path / "failed" / "link.png.error.json")
    assert report["error"]["code"] == "symlink_outside_inbox"
    assert (tmp_path / "failed" / "link.png").is_symlink()
    assert secret.read_bytes() == images["total"]  # target untouched, not moved, not read into outputs
    assert "text" not in report


def test_symlink_inside_the_inbox_is_read(tmp_path, engine, images):
    processor = make_processor(tmp_path, engine)
    put(processor, "real/a.png", images["milk"])
    (tmp_path / "inbox" / "alias.png").symlink_to(tmp_path / "inbox" / "real" / "a.png")
    assert processor.process("alias.png")[0] == DONE
    assert read_json(tmp_path / "processed" / "alias.png.json")["text"] == SAMPLES["milk"][0]


def test_multi_page_tiff_reads_every_page(tmp_path, engine):
    pages = [Image.fromarray(render_lines([text], font_size=28)[:, :, ::-1].copy()) for text in
             ("PAGE ONE 1.00", "PAGE TWO 2.00", "PAGE THREE 3.00")]
    buffer = io.BytesIO()
    pages[0].save(buffer, format="TIFF", save_all=True, append_images=pages[1:])
    processor = make_processor(tmp_path, engine)
    put(processor, "scan.tif", buffer.getvalue())
    assert processor.process("scan.tif")[0] == DONE
    sidecar = read_json(tmp_path / "processed" / "scan.tif.json")
    assert [page["text"] for page in sidecar["pages"]] == ["PAGE ONE 1.00", "PAGE TWO 2.00", "PAGE THREE 3.00"]
    assert sidecar["image"]["pages"] == 3 and sidecar["text"].split("\f") == [p["text"] for p in sidecar["pages"]]


def test_unwritable_output_folder_retries_then_succeeds(tmp_path, engine, images):
    # Tests run as root, which permission bits do not stop: a FILE where the output folder must
    # be makes every write there fail for real (ENOTDIR/EEXIST), as an unwritable folder would.
    processor = make_processor(tmp_path, engine)
    put(processor, "sub/a.png", images["bread"])
    (tmp_path / "processed" / "sub").write_bytes(b"in the way")
    outcome, due = processor.process("sub/a.png")
    assert outcome == RETRY and due > 0
    assert (tmp_path / "inbox" / "sub" / "a.png").read_bytes() == images["bread"]  # nothing lost
    entry = processor.journal.get("sub/a.png")
    assert entry.state == "retry" and entry.errors[0]["code"] == "write_failed"
    (tmp_path / "processed" / "sub").unlink()
    assert processor.process("sub/a.png")[0] == DONE
    assert read_json(tmp_path / "processed" / "sub" / "a.png.json")["attempts"] == 2


def test_disk_full_retries_until_max_attempts_then_fails_with_history(tmp_path, engine, images, monkeypatch):
    # Injected OSError(ENOSPC) for writes under processed/ only (a real tiny tmpfs is in test_service.py).
    processor = make_processor(tmp_path, engine, max_attempts=3)
    real_write = outputs_module.atomic_write

    def full_disk(path, data, mode=0o644):
        if str(path).startswith(str(tmp_path / "processed")):
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real_write(path, data, mode)

    monkeypatch.setattr(outputs_module, "atomic_write", full_disk)
    put(processor, "a.png", images["total"])
    assert processor.process("a.png")[0] == RETRY
    assert processor.process("a.png")[0] == RETRY
    assert processor.process("a.png")[0] == FAILED
    report = read_json(tmp_path / "failed" / "a.png.error.json")
    assert report["attempts"] == 3 and "ENOSPC" in report["error"]["message"]
    assert [h["attempt"] for h in report["history"]] == [1, 2, 3]
    assert (tmp_path / "failed" / "a.png").read_bytes() == images["total"]


def test_resume_after_a_crash_between_sidecar_and_move_does_not_rerun(tmp_path, engine, images):
    counting = Counting(engine)
    processor = make_processor(tmp_path, counting)
    put(processor, "a.png", images["total"])
    processor.process("a.png")
    # Rebuild the moment of the crash: sidecar written, image still in the inbox, row "processing".
    os.rename(tmp_path / "processed" / "a.png", tmp_path / "inbox" / "a.png")
    with processor.journal._db:
        processor.journal._db.execute("UPDATE files SET state = 'processing' WHERE rel IN ('a.png', CAST('a.png' AS BLOB))")
    assert processor.process("a.png")[0] == DONE
    assert counting.runs == 1  # the recorded sidecar was reused, not recomputed
    assert sorted(os.listdir(tmp_path / "processed")) == ["a.png", "a.png.json"]


def test_a_file_that_keeps_killing_the_daemon_is_given_up(tmp_path, engine, images):
    processor = make_processor(tmp_path, engine, max_attempts=2)
    put(processor, "a.png", images["total"])
    for _ in range(2):  # claimed twice without an outcome: as if the process died each time
        processor.journal.claim("a.png", 1, 1)
    assert processor.process("a.png")[0] == FAILED
    assert read_json(tmp_path / "failed" / "a.png.error.json")["error"]["code"] == "gave_up"


def test_a_file_gone_before_reading_is_dropped(tmp_path, engine):
    processor = make_processor(tmp_path, engine)
    assert processor.process("never-there.png") == (GONE, 0.0)


def test_dangling_and_folder_symlinks_fail_at_once(tmp_path, engine):
    processor = make_processor(tmp_path, engine)
    (tmp_path / "inbox" / "folder").mkdir()
    (tmp_path / "inbox" / "to-folder").symlink_to(tmp_path / "inbox" / "folder")
    (tmp_path / "inbox" / "dangling.png").symlink_to(tmp_path / "inbox" / "missing.png")
    for name in ("to-folder", "dangling.png"):
        assert processor.process(name)[0] == FAILED  # not retried: it can never become readable
        assert read_json(tmp_path / "failed" / f"{name}.error.json")["error"]["code"] == "file_unreadable"
        assert (tmp_path / "failed" / name).is_symlink()
    assert (tmp_path / "inbox" / "folder").is_dir()


def test_a_fifo_is_refused_without_blocking(tmp_path, engine):
    processor = make_processor(tmp_path, engine)
    os.mkfifo(tmp_path / "inbox" / "pipe.png")  # opening it for reading must not wait for a writer
    assert processor.process("pipe.png")[0] == FAILED
    assert read_json(tmp_path / "failed" / "pipe.png.error.json")["error"]["message"] == "not a regular file"


# --- names near NAME_MAX (255 bytes here) -----------------------------------------------------------


def long_name(length: int, ext: str = ".png") -> str:
    return "r" * (length - len(ext)) + ext


def test_a_240_byte_name_is_processed_under_its_own_name(tmp_path, engine, images):
    # Temporary names used to be ".NAME.json.XXXXXXXX.tmp": 259 bytes for this input, ENAMETOOLONG.
    processor = make_processor(tmp_path, engine)
    name = long_name(240)
    put(processor, name, images["total"])
    assert processor.process(name) == (DONE, 0.0)
    sidecar = read_json(tmp_path / "processed" / f"{name}.json")
    assert sidecar["source"] == name and "stored_as" not in sidecar
    assert sorted(os.listdir(tmp_path / "processed")) == [name, f"{name}.json"]


def test_a_name_whose_sidecar_cannot_exist_is_stored_shortened_and_recorded(tmp_path, engine, images):
    processor = make_processor(tmp_path, engine)
    name = long_name(253)  # NAME.json would be 258 bytes
    put(processor, name, images["total"])
    assert processor.process(name) == (DONE, 0.0)
    [sidecar_name] = [n for n in os.listdir(tmp_path / "processed") if n.endswith(".json")]
    sidecar = read_json(tmp_path / "processed" / sidecar_name)
    stored = sidecar["stored_as"]
    assert sidecar["source"] == name and sidecar_name == f"{stored}.json" and len(sidecar_name) <= 255
    assert stored.endswith(".png") and stored.startswith("rrrr")
    assert (tmp_path / "processed" / stored).read_bytes() == images["total"]
    # A second file of the same long name gets its own shortened name; nothing is overwritten.
    put(processor, name, images["cash"])
    assert processor.process(name) == (DONE, 0.0)
    second = read_json(tmp_path / "processed" / (processor.journal.get(name).dest.split(":", 1)[1] + ".json"))
    assert second["stored_as"] != stored and second["text"] == SAMPLES["cash"][0]
    assert len(os.listdir(tmp_path / "processed")) == 4 and os.listdir(tmp_path / "inbox") == []


def test_a_long_name_that_fails_goes_to_failed_under_a_name_that_fits(tmp_path, engine):
    processor = make_processor(tmp_path, engine)
    name = long_name(250)  # NAME.error.json would be 261 bytes
    put(processor, name, b"not an image at all")
    assert processor.process(name)[0] == FAILED
    [report_name] = [n for n in os.listdir(tmp_path / "failed") if n.endswith(".error.json")]
    report = read_json(tmp_path / "failed" / report_name)
    assert report["source"] == name and report_name == report["stored_as"] + ".error.json"
    assert (tmp_path / "failed" / report["stored_as"]).read_bytes() == b"not an image at all"
    assert os.listdir(tmp_path / "inbox") == []


def test_in_place_a_name_without_room_for_its_sidecar_fails_with_that_reason(tmp_path, engine, images):
    processor = make_processor(tmp_path, engine, mode="in-place")
    name = long_name(252)
    put(processor, name, images["total"])
    assert processor.process(name)[0] == FAILED
    [report_name] = [n for n in os.listdir(tmp_path / "failed") if n.endswith(".error.json")]
    assert read_json(tmp_path / "failed" / report_name)["error"]["code"] == "name_too_long"
    assert os.listdir(tmp_path / "inbox") == []


# --- every input in exactly one place ---------------------------------------------------------------


def big_png(text: str) -> bytes:
    """A real page stored uncompressed: ~1.3 MB, more than the small processed/ below can hold."""
    page = render_lines([text], font_size=28)
    canvas = np.full((1100, 1200), 255, np.uint8)
    canvas[: page.shape[0], : page.shape[1]] = page if page.ndim == 2 else page[..., 0]
    return encode(canvas, ".png", [cv2.IMWRITE_PNG_COMPRESSION, 0])


def test_an_image_that_cannot_be_placed_leaves_no_success_sidecar(tmp_path, engine, tmpfs):
    # processed/ is a real 256 KiB tmpfs, another file system than the inbox: the sidecar fits,
    # the copy of the image does not (ENOSPC mid-copy).
    tmpfs(tmp_path / "processed", "256k")
    processor = make_processor(tmp_path, engine, max_attempts=2)
    data = big_png(SAMPLES["total"][0])
    assert len(data) > 1_000_000
    put(processor, "a.png", data)
    assert processor.process("a.png")[0] == RETRY
    assert os.listdir(tmp_path / "processed") == []  # no sidecar, no half copy
    assert processor.process("a.png")[0] == FAILED
    assert os.listdir(tmp_path / "processed") == []
    report = read_json(tmp_path / "failed" / "a.png.error.json")
    assert report["error"]["code"] == "write_failed" and "ENOSPC" in report["error"]["message"]
    assert (tmp_path / "failed" / "a.png").read_bytes() == data and os.listdir(tmp_path / "inbox") == []


def test_giving_up_after_a_crash_loop_removes_the_success_sidecar(tmp_path, engine, images):
    processor = make_processor(tmp_path, engine, max_attempts=2)
    put(processor, "a.png", images["total"])
    assert processor.process("a.png")[0] == DONE
    # Rebuild what a process killed between sidecar and move leaves, once per restart: the sidecar
    # in processed/, the image still in the inbox, the row "processing" with one more attempt.
    os.rename(tmp_path / "processed" / "a.png", tmp_path / "inbox" / "a.png")
    with processor.journal._db:
        processor.journal._db.execute("UPDATE files SET state = 'processing' WHERE rel IN ('a.png', CAST('a.png' AS BLOB))")
    processor.journal.claim("a.png", 1, 1)  # the second attempt died the same way
    assert processor.process("a.png")[0] == FAILED
    assert read_json(tmp_path / "failed" / "a.png.error.json")["error"]["code"] == "gave_up"
    assert os.listdir(tmp_path / "processed") == []  # no success beside the failure
    assert sorted(os.listdir(tmp_path / "failed")) == ["a.png", "a.png.error.json"]
