"""The try-on's shared numbers, importable without numpy (the browser page reads them too).

`SCALE_RULE` is the one scale rule both the photo commands and the live page use:
millimetres per pixel at the eyes = IRIS_DIAMETER_MM / iris diameter in pixels
(horizontal, the mean of both eyes), so PD = IRIS_DIAMETER_MM x pupil distance px /
iris px.
"""

from __future__ import annotations

IRIS_DIAMETER_MM = 11.7        # horizontal visible iris diameter, adult mean (MediaPipe Iris)
IRIS_DIAMETER_SD_MM = 0.5      # its spread between people: the rule's own limit (~4%)
MIN_IRIS_PX = 6.0              # an iris narrower than this is too small to measure well
ADULT_PD_MM = (54.0, 74.0)     # adult pupillary distances (5th-95th percentile, roughly)
CARD_WIDTH_MM = 85.60          # ISO/IEC 7810 ID-1 (bank and ID cards): 85.60 x 53.98 mm
ADULT_IRIS_MM = (10.2, 13.0)   # horizontal visible iris diameters seen in adults

# MediaPipe face mesh landmarks (478 with the iris refinement)
RIGHT_PUPIL, LEFT_PUPIL = 468, 473          # iris centres (subject's right is image left)
RIGHT_IRIS_ACROSS = (469, 471)              # the right iris's horizontal boundary points
LEFT_IRIS_ACROSS = (474, 476)
NOSE_BRIDGE = 168                           # where the frame's bridge anchor goes

SCALE_RULE = {
    "iris_diameter_mm": IRIS_DIAMETER_MM,
    "iris_diameter_sd_mm": IRIS_DIAMETER_SD_MM,
    "min_iris_px": MIN_IRIS_PX,
    "pupils": [RIGHT_PUPIL, LEFT_PUPIL],
    "iris_across": [list(RIGHT_IRIS_ACROSS), list(LEFT_IRIS_ACROSS)],
    "nose_bridge": NOSE_BRIDGE,
    "rule": "mm_per_px = iris_diameter_mm / mean horizontal iris diameter (px); "
            "pd_mm = mm_per_px * pupil distance (px)",
}
