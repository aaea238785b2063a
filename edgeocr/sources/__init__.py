"""Frame sources: a camera (OpenCV ``VideoCapture``) and stdin (one image or an MJPEG stream).

Each source runs until its ``stop_event`` is set (or its input ends), sends every frame through
the shared engine and writes one JSON line per frame through a ``FrameSink``.
"""
from .camera import CameraStats, run_camera_source
from .sink import FrameSink
from .stdin import run_stdin_source

__all__ = ["CameraStats", "FrameSink", "run_camera_source", "run_stdin_source"]
