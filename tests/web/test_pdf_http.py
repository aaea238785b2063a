"""PDF over the real HTTP API: JSON pages from POST /ocr and /ocr/batch, a searchable PDF from ?format=pdf."""
from __future__ import annotations

import requests

from tests.pdf_samples import cer, encrypted_pdf, image_pdf, mixed_pdf, page_image, pdftotext, squash
from tests.web.conftest import running, url


def test_pdf_over_http(engine, tmp_path):
    data = mixed_pdf()
    with running(engine) as server:
        result = requests.post(url(server, "/ocr"), data=data, headers={"Content-Type": "application/pdf"},
                               timeout=60).json()
        assert result["success"] and len(result["pages"]) == 2
        response = requests.post(url(server, "/ocr?format=pdf"), files={"image": ("scan.pdf", data)}, timeout=60)
        assert response.status_code == 200 and response.headers["Content-Type"] == "application/pdf"
        out = tmp_path / "out.pdf"
        out.write_bytes(response.content)
        assert cer(squash(result["text"]), squash(pdftotext(out))) <= 0.01
        # Small pages here: bottle's multipart parser holds at most ~100 KB of parts in memory.
        small = image_pdf([page_image(["TOTAL 12.20"], size=(600, 200))])
        batch = requests.post(url(server, "/ocr/batch"), files=[("image", ("a.pdf", small)),
                                                                ("image", ("locked.pdf", encrypted_pdf(small)))],
                              timeout=60).json()
        assert [r["success"] for r in batch["results"]] == [True, False]
        assert batch["results"][1]["error"]["code"] == "pdf_encrypted"
        locked = requests.post(url(server, "/ocr?format=pdf"), data=encrypted_pdf(data),
                               headers={"Content-Type": "application/pdf"}, timeout=60)
        assert locked.status_code == 422 and locked.json()["error"]["code"] == "pdf_encrypted"
        assert requests.post(url(server, "/ocr?format=xml"), data=data, timeout=60).status_code == 400
