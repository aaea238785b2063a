"""Line recognition: crops to batches, a CTC recognizer through ONNX Runtime, CTC decoding.

The model's input convention (channels, height, normalisation, padding) comes from its pack as
an ``InputSpec``; the output stride (input columns per output frame) is measured from the model
itself at load time, so a pack cannot state it wrongly. Crops are sorted by width and batched;
each line is decoded only over its own frames, so padding never adds characters.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import numpy as np

from .ctc import DecodedText, beam_decode, greedy_decode, restore_spaces
from .errors import ModelPackError
from .inputspec import InputSpec, resize_line, to_batch


def make_batches(lines: list[np.ndarray], batch_size: int) -> list[list[int]]:
    """Indices grouped so that lines of similar width share a batch."""
    order = sorted(range(len(lines)), key=lambda i: lines[i].shape[1])
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def measure_stride(session, spec: InputSpec) -> int:
    """Input columns per output frame, from the frame counts of two probe widths."""
    assert spec.height is not None
    name = session.get_inputs()[0].name
    narrow, wide = 64, 128
    frames = []
    for width in (narrow, wide):
        probe = np.zeros((1, spec.channels, spec.height, width), dtype=np.float32)
        frames.append(session.run(None, {name: probe})[0].shape[1])
    if frames[1] <= frames[0]:
        raise ModelPackError(f"recognizer output does not grow with the input width ({frames}); not a CTC line model")
    return max(1, round((wide - narrow) / (frames[1] - frames[0])))


class Recognizer:
    def __init__(self, session, charset: list[str], spec: InputSpec, batch_size: int = 16, blank_index: int = 0,
                 where: str = "recognizer", lanes: int = 1, name: str = "", space_threshold: float = 0.0) -> None:
        self.session = session
        self.name = name
        # Lines are independent: ``lanes`` of them run at once, each on one ONNX Runtime thread
        # (the session is made with one), which on small line tensors beats one line at a time
        # on several intra-op threads. The pool lives for one call, so nothing outlives it.
        self.lanes = max(1, lanes)
        self.charset = charset
        self.spec = spec
        self.batch_size = batch_size
        self.blank_index = blank_index
        # The pack's measured share of the space class in a gap that makes it a word space (0: off).
        self.space_class = charset.index(" ") + 1 if " " in charset else None
        self.space_threshold = space_threshold if self.space_class is not None else 0.0
        self.input_name = session.get_inputs()[0].name
        classes = session.get_outputs()[0].shape[-1]
        if isinstance(classes, int) and classes != len(charset) + 1:
            raise ModelPackError(f"{where}: the model has {classes} classes but the charset has "
                                 f"{len(charset)} entries (+1 blank = {len(charset) + 1})")
        self.stride = measure_stride(session, spec)

    @property
    def primary(self) -> "Recognizer":
        """The recognizer whose confidences orientation checks compare (``cascade`` has two)."""
        return self

    def reader_of(self, text: DecodedText) -> "Recognizer":
        """The recognizer that read ``text``, for its stride and input convention."""
        return self

    def _each_batch(self, lines: list[np.ndarray], batch_size: int | None, use) -> list:
        """``use(probs)`` on every line's ``(T_i, C)`` probabilities, batch by batch, in input order.

        A batch's output is dropped as soon as its lines are used: with 18,708 classes one
        receipt's probabilities, held all at once, come to ~200 MB, while a batch's are a few MB.
        """
        out: list = [None] * len(lines)
        size = batch_size or self.batch_size
        if self.lanes > 1:  # smaller batches rather than an idle lane
            size = max(1, min(size, -(-len(lines) // self.lanes)))
        batches = make_batches(lines, size)

        def run(indices: list[int]) -> None:
            probs = self.session.run(None, {self.input_name: to_batch([lines[i] for i in indices], self.spec)})[0]
            for row, index in enumerate(indices):
                steps = min(probs.shape[1], -(-lines[index].shape[1] // self.stride))
                out[index] = use(probs[row, :steps])

        if self.lanes > 1 and len(batches) > 1:
            with ThreadPoolExecutor(min(self.lanes, len(batches)), thread_name_prefix="edgeocr-lines") as pool:
                list(pool.map(run, batches))
        else:
            for indices in batches:
                run(indices)
        return out

    def decode(self, probs: np.ndarray, beam_width: int = 0) -> DecodedText:
        if beam_width > 1:
            return beam_decode(probs, self.charset, beam_width, self.blank_index)
        decoded = greedy_decode(probs, self.charset, self.blank_index)
        if self.space_threshold > 0:
            decoded = restore_spaces(decoded, probs, self.space_class, self.space_threshold)
        return decoded

    def recognize(self, crops: list[np.ndarray], batch_size: int | None = None, beam_width: int = 0) -> list[DecodedText]:
        """Crops (8-bit BGR or grayscale, any size) to decoded text, in the order given."""
        if not crops:
            return []
        lines = [resize_line(crop, self.spec) for crop in crops]
        return self._each_batch(lines, batch_size, lambda probs: replace(self.decode(probs, beam_width), reader=self.name))
