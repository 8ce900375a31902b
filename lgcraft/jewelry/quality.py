"""Offline quality checks of a draft: no model weights, numpy and Pillow only.

* perceptual hash (DCT pHash, 64 bits): near-duplicates within a run;
* sharpness: variance of the Laplacian of the grey image;
* clean background: the border of a product shot should be one plain colour;
* clipped highlights: share of the piece burnt out to white;
* metal colour: the dominant metal-like hue of the piece (yellow, rose or white)
  against the metal the brief asked for;
* left-right symmetry (information only: many pieces are asymmetric on purpose).

Thresholds are for drafts at 256-1024 px; they flag, they never delete.
"""

from __future__ import annotations

from dataclasses import dataclass, field

NEAR_DUPLICATE_BITS = 6       # pHash distance at or under which two drafts look the same
SOFT_LAPLACIAN = 40.0         # variance below this: soft or blurry
BORDER_STD_MAX = 18.0         # per-channel std of the border above this: busy background
CLIPPED_MAX = 0.30            # share of the piece at 250+ in every channel


@dataclass
class QualityReport:
    phash: str
    sharpness: float
    background_std: float
    background_rgb: list[int]
    clean_background: bool
    clipped_share: float
    symmetry: float
    metal_seen: str | None
    metal_asked: str | None
    warnings: list[str] = field(default_factory=list)


def _grey(image, size: int | None = None):
    import numpy as np

    grey = image.convert("L")
    if size:
        from PIL import Image

        grey = grey.resize((size, size), Image.Resampling.LANCZOS)
    return np.asarray(grey, dtype=np.float64)


def _dct_matrix(n: int):
    import numpy as np

    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    m = np.cos(np.pi * (2 * i + 1) * k / (2 * n)) * np.sqrt(2 / n)
    m[0] /= np.sqrt(2)
    return m


def phash(image) -> int:
    """64-bit DCT perceptual hash (the pHash algorithm: 32x32 grey, 8x8 low frequencies)."""
    import numpy as np

    pixels = _grey(image, 32)
    d = _dct_matrix(32)
    low = (d @ pixels @ d.T)[:8, :8].flatten()
    median = np.median(low[1:])
    bits = low > median
    return int("".join("1" if b else "0" for b in bits), 2)


def hamming(a: int, b: int) -> int:
    return bin(a ^ b).count("1")


def sharpness(image) -> float:
    """Variance of the 4-neighbour Laplacian of the grey image (at most 512 px wide)."""
    from PIL import Image

    if max(image.size) > 512:
        scale = 512 / max(image.size)
        image = image.resize((max(1, int(image.width * scale)), max(1, int(image.height * scale))),
                             Image.Resampling.LANCZOS)
    g = _grey(image)
    if g.shape[0] < 3 or g.shape[1] < 3:
        return 0.0
    lap = (g[:-2, 1:-1] + g[2:, 1:-1] + g[1:-1, :-2] + g[1:-1, 2:] - 4 * g[1:-1, 1:-1])
    return float(lap.var())


def _metal_votes(rgb, mask) -> dict[str, int]:
    import numpy as np

    pixels = rgb[mask].astype(np.float64) / 255.0
    if len(pixels) == 0:
        return {}
    mx, mn = pixels.max(axis=1), pixels.min(axis=1)
    value = mx
    sat = np.where(mx > 0, (mx - mn) / np.maximum(mx, 1e-9), 0)
    r, g, b = pixels[:, 0], pixels[:, 1], pixels[:, 2]
    delta = np.maximum(mx - mn, 1e-9)
    hue = np.where(mx == r, ((g - b) / delta) % 6, np.where(mx == g, (b - r) / delta + 2, (r - g) / delta + 4)) * 60
    lit = (value > 0.25) & (value < 0.98)          # ignore deep shadow and specular white
    white = lit & (sat < 0.15)
    coloured = lit & (sat >= 0.15)
    yellow = coloured & (hue >= 32) & (hue < 65)
    rose = coloured & ((hue < 32) | (hue >= 340))
    return {"white": int(white.sum()), "yellow": int(yellow.sum()), "rose": int(rose.sum())}


def check_image(image, metal_family: str | None = None) -> QualityReport:
    """All single-image checks; ``metal_family`` is yellow, rose, white, mixed or None."""
    import numpy as np

    rgb = np.asarray(image.convert("RGB"), dtype=np.int16)
    h, w, _ = rgb.shape
    band = max(1, min(h, w) // 20)
    border = np.concatenate([rgb[:band].reshape(-1, 3), rgb[-band:].reshape(-1, 3),
                             rgb[:, :band].reshape(-1, 3), rgb[:, -band:].reshape(-1, 3)])
    bg = np.median(border, axis=0)
    border_std = float(border.std(axis=0).max())
    distance = np.abs(rgb - bg).max(axis=2)
    mask = distance > 40
    if mask.mean() < 0.01:          # nothing stands out from the background
        mask = np.ones((h, w), dtype=bool)
    clipped = float(((rgb >= 250).all(axis=2) & mask).sum() / max(1, mask.sum()))
    grey = _grey(image)
    symmetry = float(1 - np.abs(grey - grey[:, ::-1]).mean() / 255)
    report = QualityReport(
        phash=f"{phash(image):016x}", sharpness=round(sharpness(image), 2),
        background_std=round(border_std, 2), background_rgb=[int(v) for v in bg],
        clean_background=border_std <= BORDER_STD_MAX, clipped_share=round(clipped, 4),
        symmetry=round(symmetry, 4), metal_seen=None, metal_asked=metal_family)
    if report.sharpness < SOFT_LAPLACIAN:
        report.warnings.append(f"soft or blurry (sharpness {report.sharpness:.0f} < {SOFT_LAPLACIAN:.0f})")
    if not report.clean_background:
        report.warnings.append(f"background not plain (border variation {border_std:.0f})")
    if clipped > CLIPPED_MAX:
        report.warnings.append(f"{clipped:.0%} of the piece is clipped to white")
    votes = _metal_votes(rgb, mask)
    total = sum(votes.values())
    if total >= max(20, 0.02 * mask.sum()):
        seen = max(votes, key=votes.get)
        report.metal_seen = seen
        if metal_family in ("yellow", "rose", "white") and seen != metal_family:
            report.warnings.append(f"metal looks {seen}, brief asked for {metal_family}")
    return report


def near_duplicates(hashes: list[tuple[str, str]], bits: int = NEAR_DUPLICATE_BITS) -> list[dict]:
    """Pairs of (name, phash hex) within ``bits`` of each other."""
    pairs = []
    for i, (name_a, hash_a) in enumerate(hashes):
        for name_b, hash_b in hashes[i + 1:]:
            distance = hamming(int(hash_a, 16), int(hash_b, 16))
            if distance <= bits:
                pairs.append({"a": name_a, "b": name_b, "distance": distance})
    return pairs
