"""Errors with stable codes: the CLI, the daemon and the web API all report ``code`` and ``message``."""
from __future__ import annotations


class EdgeOcrError(Exception):
    """Base of every error edgeocr reports to a user; ``code`` is stable and machine-readable."""

    code = "internal_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message}


class ConfigError(EdgeOcrError):
    code = "bad_config"


class ModelPackError(EdgeOcrError):
    code = "bad_model_pack"


class BadImageError(EdgeOcrError):
    """Empty, truncated, corrupt or non-image input."""

    code = "bad_image"


class ImageTooLargeError(EdgeOcrError):
    """More pixels (or bytes) than configured; refused before the pixels are decoded."""

    code = "image_too_large"


class FileReadError(EdgeOcrError):
    """An input file that is missing, unreadable or not a regular file."""

    code = "file_unreadable"


class BadRequestError(EdgeOcrError):
    """A per-call option that makes no sense (unknown detector, negative beam width)."""

    code = "bad_request"


class SourceUnavailableError(EdgeOcrError):
    """A frame source (camera device, stream URL) that cannot be opened or stopped delivering."""

    code = "source_unavailable"


class PdfEncryptedError(EdgeOcrError):
    """A PDF that needs a password to open: we never guess one."""

    code = "pdf_encrypted"


class PdfBrokenError(EdgeOcrError):
    """A PDF whose structure (cross-reference table, page tree) cannot be read."""

    code = "pdf_broken"


class TooManyPagesError(EdgeOcrError):
    """More pages than ``engine.max_pages``; refused from the header, before any page is rendered."""

    code = "too_many_pages"


class PdfOutputError(EdgeOcrError):
    """The searchable PDF could not be written (the JSON result is still good)."""

    code = "pdf_output_failed"
