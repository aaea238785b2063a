"""Request reading on its own: the in-app Content-Length and chunked checks (waitress answers these
first in our server, so only a plain WSGI environ reaches them here) and query option parsing."""
from __future__ import annotations

import io
import urllib.parse

import bottle
import pytest

from edgeocr.web.uploads import ApiError, check_length, parse_options, read_images


def query_of(text: str) -> bottle.FormsDict:
    query = bottle.FormsDict()
    for key, value in urllib.parse.parse_qsl(text, keep_blank_values=True):
        query.append(key, value)
    return query


def request_for(body: bytes = b"", **environ) -> bottle.BaseRequest:
    base = {"REQUEST_METHOD": "POST", "PATH_INFO": "/ocr", "wsgi.input": io.BytesIO(body)}
    return bottle.BaseRequest({**base, **environ})


def test_content_length_over_the_limit_is_refused_before_reading():
    body = io.BytesIO(b"x" * 10)
    request = bottle.BaseRequest({"REQUEST_METHOD": "POST", "wsgi.input": body, "CONTENT_LENGTH": "5000"})
    with pytest.raises(ApiError) as caught:
        check_length(request, 1000)
    assert (caught.value.status, caught.value.code) == (413, "body_too_large")
    assert body.tell() == 0  # not a byte read


def test_chunked_without_a_length_is_never_read_unbounded():
    with pytest.raises(ApiError) as caught:
        check_length(request_for(HTTP_TRANSFER_ENCODING="chunked"), 1000)
    assert (caught.value.status, caught.value.code) == (411, "length_required")


def test_a_raw_body_over_the_limit_is_413_and_one_under_it_is_read():
    request = request_for(b"y" * 2000, CONTENT_TYPE="image/png", CONTENT_LENGTH="2000")
    with pytest.raises(ApiError) as caught:
        read_images(request, 1000, many=False)
    assert caught.value.status == 413
    ok = read_images(request_for(b"z" * 10, CONTENT_TYPE="image/png", CONTENT_LENGTH="10"), 1000, many=False)
    assert ok[0].data == b"z" * 10


@pytest.mark.parametrize("query, detector, beam, text", [
    ("", None, None, False),
    ("detector=db&beam_width=4&text=1", "db", 4, True),
    ("text=true&beam_width=", None, None, True),
    ("text=0", None, None, False),
])
def test_options(query, detector, beam, text):
    options, text_only = parse_options(query_of(query))
    assert (options.detector, options.beam_width, text_only) == (detector, beam, text)


@pytest.mark.parametrize("query", ["beam_width=two", "beam_width=1.5", "text=maybe"])
def test_bad_options_are_400(query):
    with pytest.raises(ApiError) as caught:
        parse_options(query_of(query))
    assert (caught.value.status, caught.value.code) == (400, "bad_request")
