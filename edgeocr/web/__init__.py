"""The HTTP side of edgeocr: a Bottle app (``app``) on a threaded waitress server (``server``).

``POST /ocr`` for programs, ``GET /`` for people; both call the one shared ``Engine``.
"""
