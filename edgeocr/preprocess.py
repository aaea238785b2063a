"""Optional clean-up of the page before detection and recognition; each step is a switch."""
from __future__ import annotations

import cv2
import numpy as np

from .config import PreprocessConfig


def to_gray(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return image
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def preprocess(image: np.ndarray, config: PreprocessConfig, colour: bool = False) -> np.ndarray:
    """Return the page the detector and recognizer will see.

    ``colour``: the pack's models take 3 channels, so a colour page stays colour unless
    ``grayscale`` says otherwise or a clean-up step (each works on one channel) is switched on.
    ``grayscale`` decides how colour is folded to one channel: true uses luma, false the channel
    with the most contrast (coloured ink on coloured paper); unset (null), the pack decides.
    """
    steps = config.denoise or config.clahe or config.sharpen or config.adaptive_threshold
    if image.ndim == 3 and colour and not steps and config.grayscale is None:
        return np.ascontiguousarray(image)
    if image.ndim == 2:
        gray = image
    elif config.grayscale is False:
        channels = cv2.split(image)
        gray = max(channels, key=lambda c: float(c.std()))
    else:
        gray = to_gray(image)
    if config.denoise:
        gray = cv2.fastNlMeansDenoising(gray, None, h=config.denoise_strength)
    if config.clahe:
        gray = cv2.createCLAHE(clipLimit=config.clahe_clip_limit, tileGridSize=(8, 8)).apply(gray)
    if config.sharpen:
        blurred = cv2.GaussianBlur(gray, (0, 0), 1.5)
        gray = cv2.addWeighted(gray, 1.6, blurred, -0.6, 0)
    if config.adaptive_threshold:
        gray = cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY,
                                     config.adaptive_block_size, 10)
    return np.ascontiguousarray(gray)
