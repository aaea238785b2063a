"""PDFs dropped into the real daemon's inbox: searchable PDFs out, bad PDFs to failed/ with the reason."""
from __future__ import annotations

from tests.daemon.conftest import SAMPLES, files_under, read_json, wait_for
from tests.pdf_samples import blank_pdf, cer, encrypted_pdf, mixed_pdf, pdftotext, squash, truncated_pdf


def test_pdfs_in_the_inbox_give_sidecars_and_searchable_pdfs_and_bad_ones_fail(tmp_path, daemon, images):
    service = daemon(write_pdf=True)
    inbox = tmp_path / "inbox"
    good = mixed_pdf()
    bad = {"locked.pdf": (encrypted_pdf(good), "pdf_encrypted"), "cut.pdf": (truncated_pdf(good), "pdf_broken"),
           "bomb.pdf": (blank_pdf(2000), "too_many_pages"), "huge.pdf": (blank_pdf(1, 20_000, 20_000), "image_too_large")}
    for name, (data, _) in bad.items():
        (inbox / name).write_bytes(data)
    (inbox / "scan.pdf").write_bytes(good)
    assert wait_for(lambda: (tmp_path / "processed" / "scan.pdf").exists(), timeout=60)
    sidecar = read_json(tmp_path / "processed" / "scan.pdf.json")
    assert [page["read_from"] for page in sidecar["pages"]] == ["ocr", "ocr"] and sidecar["source"] == "scan.pdf"
    searchable = tmp_path / "processed" / "scan.pdf.ocr.pdf"
    assert cer(squash(sidecar["text"]), squash(pdftotext(searchable))) <= 0.01
    assert (tmp_path / "processed" / "scan.pdf").read_bytes() == good  # the input itself is moved untouched
    assert wait_for(lambda: len(files_under(tmp_path / "failed")) == 2 * len(bad), timeout=30)
    for name, (data, code) in bad.items():
        report = read_json(tmp_path / "failed" / (name + ".error.json"))
        assert report["error"]["code"] == code, report
        assert (tmp_path / "failed" / name).read_bytes() == data
    # The daemon keeps going: an image after the bad PDFs is read (and gets its PDF too).
    (inbox / "after.png").write_bytes(images["total"])
    assert wait_for(lambda: (tmp_path / "processed" / "after.png.json").exists(), timeout=30)
    assert read_json(tmp_path / "processed" / "after.png.json")["text"] == SAMPLES["total"][0]
    assert "TOTAL" in pdftotext(tmp_path / "processed" / "after.png.ocr.pdf")
    assert service.health()["processed"] == 2
