"""Training tools for edgeocr's own recognizer: data rendering, CRNN training, ONNX export, INT8.

Nothing in here is imported by the runtime engine; it needs the ``[train]`` extra (torch, Pillow,
wordfreq, onnx).
"""
