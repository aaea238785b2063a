"""The folder daemon: watched inbox -> OCR -> sidecars, crash-safe (``edgeocr watch`` / ``run``)."""
