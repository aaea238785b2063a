"""The OpenAPI 3 description of the API, built from the live config (limits, whether a token is needed)."""
from __future__ import annotations

from typing import Any

from .. import __version__
from ..config import Config

_ERROR = {"$ref": "#/components/schemas/Error"}


def _errors(*statuses: int) -> dict[str, Any]:
    reasons = {400: "Bad input or option (bad_image, bad_request)", 401: "Missing or wrong bearer token",
               411: "Chunked body without a length", 413: "Body over web.max_body_bytes",
               415: "Not multipart/form-data or image/*", 422: "Too many pixels (image_too_large)",
               503: "Queue full; retry after Retry-After seconds",
               403: "Sent by another site's page (cross_site_request)",
               408: "Request not whole within web.request_timeout_seconds (request_timeout)",
               421: "Host header not a name of this server (host_not_allowed)"}
    return {str(status): {"description": reasons[status], "content": {"application/json": {"schema": _ERROR}}}
            for status in statuses}


def build_openapi(config: Config, detectors: list[str]) -> dict[str, Any]:
    web = config.web
    secured = [{"bearer": []}] if web.token is not None else []
    options = [
        {"name": "detector", "in": "query", "required": False,
         "schema": {"type": "string", "enum": detectors}, "description": "text detector (default: the pack's own)"},
        {"name": "beam_width", "in": "query", "required": False,
         "schema": {"type": "integer", "minimum": 0, "maximum": 64}, "description": "CTC beam width; 0 = greedy"},
    ]
    text_option = {"name": "text", "in": "query", "required": False, "schema": {"type": "string", "enum": ["0", "1"]},
                   "description": "1: answer the recognized text as text/plain, one line per text line"}
    format_option = {"name": "format", "in": "query", "required": False,
                     "schema": {"type": "string", "enum": ["json", "pdf"]},
                     "description": "pdf: answer a searchable PDF (the input's pages with an invisible text layer)"}
    binary = {"type": "string", "format": "binary"}
    single_body = {"required": True, "content": {
        "multipart/form-data": {"schema": {"type": "object", "required": ["image"], "properties": {"image": binary}}},
        "image/png": {"schema": binary}, "image/jpeg": {"schema": binary}, "application/pdf": {"schema": binary}}}
    batch_body = {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["image"],
        "properties": {"image": {"type": "array", "items": binary, "maxItems": web.max_batch_images}}}}}}
    json_of = lambda ref: {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}  # noqa: E731
    paths = {
        "/ocr": {"post": {
            "summary": "Recognize the text in one image", "operationId": "ocr", "security": secured,
            "parameters": options + [text_option, format_option], "requestBody": single_body,
            "responses": {"200": {"description": "The engine's result", "content": {
                **json_of("Result"), "text/plain": {"schema": {"type": "string"}},
                "application/pdf": {"schema": binary}}},
                **_errors(400, 401, 403, 408, 411, 413, 415, 421, 422, 503)}}},
        "/ocr/batch": {"post": {
            "summary": "Recognize several images in one request; per-image errors inline",
            "operationId": "ocrBatch", "security": secured, "parameters": options, "requestBody": batch_body,
            "responses": {"200": {"description": "One result per image, in order", "content": json_of("Batch")},
                          **_errors(400, 401, 403, 408, 411, 413, 415, 421, 503)}}},
        "/health": {"get": {"summary": "Model, queue, uptime and version (no token needed)", "operationId": "health",
                            "responses": {"200": {"description": "Alive", "content": json_of("Health")}}}},
        "/metrics": {"get": {"summary": "Prometheus text format", "operationId": "metrics", "security": secured,
                             "responses": {"200": {"description": "Metrics",
                                                   "content": {"text/plain": {"schema": {"type": "string"}}}},
                                           **_errors(401)}}},
        "/openapi.json": {"get": {"summary": "This document", "operationId": "openapi",
                                  "responses": {"200": {"description": "OpenAPI 3",
                                                        "content": {"application/json": {"schema": {"type": "object"}}}}}}},
    }
    line = {"type": "object", "required": ["text", "confidence", "box", "polygon"], "properties": {
        "text": {"type": "string"}, "confidence": {"type": "number"},
        "box": {"type": "array", "items": {"type": "integer"}, "minItems": 4, "maxItems": 4},
        "polygon": {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}},
        "detection_score": {"type": "number"}, "orientation": {"type": "integer"},
        "direction": {"type": "string"}, "recognizer": {"type": "string"}}}
    schemas = {
        "Error": {"type": "object", "required": ["success", "error"], "properties": {
            "success": {"type": "boolean", "enum": [False]},
            "error": {"type": "object", "required": ["code", "message"],
                      "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}},
        "Result": {"type": "object", "required": ["success"], "properties": {
            "success": {"type": "boolean"}, "text_lines": {"type": "array", "items": line},
            "text": {"type": "string"}, "total_time": {"type": "number"}, "cached": {"type": "boolean"},
            "image": {"type": "object"}, "model": {"type": "object"}, "timings": {"type": "object"},
            "error": {"type": "object"}}},
        "Batch": {"type": "object", "required": ["success", "results"], "properties": {
            "success": {"type": "boolean"}, "total_time": {"type": "number"},
            "results": {"type": "array", "items": {"$ref": "#/components/schemas/Result"}}}},
        "Health": {"type": "object", "required": ["status", "version", "model_loaded"], "properties": {
            "status": {"type": "string"}, "version": {"type": "string"}, "model_loaded": {"type": "boolean"},
            "uptime_seconds": {"type": "number"}, "auth_required": {"type": "boolean"},
            "uncertain_below": {"type": "number", "description": "the page marks lines under this confidence"},
            "pack": {"type": "object"}, "queue": {"type": "object"}}},
    }
    document: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {"title": "edgeocr", "version": __version__,
                 "description": "OCR for small machines. Errors are JSON: {success: false, error: {code, message}}."},
        "paths": paths,
        "components": {"schemas": schemas},
    }
    if web.token is not None:
        document["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
    return document
