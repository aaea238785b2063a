"""Reading what a client sent: per-call options from the query, image bytes from the body.

Every refusal is an ``ApiError`` carrying the HTTP status and a stable code, so the routes stay a
few lines each and a client always gets JSON with ``code`` and ``message``.
"""
from __future__ import annotations

from dataclasses import dataclass

import bottle

from ..engine import OcrOptions

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"", "0", "false", "no", "off"}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


@dataclass(frozen=True)
class Upload:
    name: str
    data: bytes


def parse_options(query: bottle.FormsDict) -> tuple[OcrOptions, bool]:
    """``detector``, ``beam_width`` and ``text`` from the query string; ``text`` means plain text out."""
    detector = query.get("detector") or None
    beam_width = None
    raw_beam = query.get("beam_width")
    if raw_beam not in (None, ""):
        try:
            beam_width = int(raw_beam)
        except ValueError:
            raise ApiError(400, "bad_request", f"beam_width must be a whole number, got {raw_beam!r}") from None
    raw_text = (query.get("text") or "").strip().lower()
    if raw_text not in TRUE_WORDS | FALSE_WORDS:
        raise ApiError(400, "bad_request", f"text must be 1 or 0, got {raw_text!r}")
    return OcrOptions(detector=detector, beam_width=beam_width), raw_text in TRUE_WORDS


def _media_type(request: bottle.BaseRequest) -> str:
    return (request.content_type or "").split(";", 1)[0].strip().lower()


def check_length(request: bottle.BaseRequest, limit: int) -> None:
    """Refuse an over-limit body from its Content-Length, before a byte of it is read.

    waitress also enforces ``max_request_body_size`` (set to the same limit) while it buffers the
    body, which is what caps a chunked body that has no Content-Length to check.
    """
    raw = request.environ.get("CONTENT_LENGTH") or ""
    if not raw:
        if "chunked" in request.environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            # Only reachable on a server that does not de-chunk for us; never read it unbounded.
            raise ApiError(411, "length_required", "send the body with a Content-Length header")
        return
    try:
        length = int(raw)
    except ValueError:
        raise ApiError(400, "bad_request", "Content-Length is not a number") from None
    if length > limit:
        raise ApiError(413, "body_too_large",
                       f"the request body is {length} bytes; the limit is {limit} (web.max_body_bytes)")


def _multipart_images(request: bottle.BaseRequest) -> list[Upload]:
    try:
        parts = request.POST.getall("image")
    except bottle.HTTPError as exc:  # bottle's MultipartError: a body that is not what it claims
        raise ApiError(400, "bad_request", f"malformed multipart body: {exc.body}") from None
    except (ValueError, UnicodeDecodeError, IndexError) as exc:
        raise ApiError(400, "bad_request", f"malformed multipart body: {exc}") from None
    uploads = []
    for index, part in enumerate(parts):
        if isinstance(part, bottle.FileUpload):
            uploads.append(Upload(part.raw_filename or f"image{index + 1}", part.file.read()))
        else:
            raise ApiError(400, "bad_request", "the 'image' field must be a file part (curl -F image=@scan.jpg)")
    return uploads


def read_images(request: bottle.BaseRequest, limit: int, many: bool) -> list[Upload]:
    """The images of ``POST /ocr`` (one, multipart or raw ``image/*``) or ``/ocr/batch`` (several)."""
    check_length(request, limit)
    media = _media_type(request)
    if media == "multipart/form-data":
        uploads = _multipart_images(request)
        if not uploads:
            raise ApiError(400, "bad_request", "no 'image' file field in the form (curl -F image=@scan.jpg)")
        if not many and len(uploads) > 1:
            raise ApiError(400, "bad_request", "POST /ocr takes one 'image'; send several to /ocr/batch")
        return uploads
    if not many and (media.startswith("image/") or media in ("application/octet-stream", "application/pdf")):
        data = request.body.read(limit + 1)
        if len(data) > limit:
            raise ApiError(413, "body_too_large", f"the request body is over {limit} bytes (web.max_body_bytes)")
        return [Upload("body", data)]
    wanted = "multipart/form-data with 'image' fields" if many else \
        "multipart/form-data with an 'image' field, or a raw body with an image/* or application/pdf Content-Type"
    raise ApiError(415, "unsupported_media_type", f"Content-Type {media or '(none)'} is not accepted; send {wanted}")
