"""Regenerate the generated example inputs (frames, rings, earrings in odd units/poses).

Run: python examples/eyewear/make_examples.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lgcraft.eyewear.synthetic import make_frame, random_rotation
from lgcraft.jewelry.synthetic import make_hook_earring, make_ring, make_stud_earring

HERE = Path(__file__).resolve().parent
JEWELRY = HERE.parent / "jewelry" / "meshes"


def main() -> None:
    rng = np.random.default_rng(2026)
    frame = make_frame(lens_width=52, bridge=18, temple_length=140, detail=24)
    # 52□18-140 in centimetres, tipped over at a random angle, as OBJ (named parts)
    frame.transformed(random_rotation(rng), 0.1).save(HERE / "frame-52-18-140-cm-tilted.obj")
    # the same frame in metres, upside down, as binary glTF
    flip = np.diag([1.0, -1.0, -1.0, 1.0])
    frame.transformed(flip, 0.001).save(HERE / "frame-52-18-140-m-upside-down.glb")
    # a 54□16-145 frame in inches, random pose, as one merged STL (no part names)
    other = make_frame(lens_width=54, bridge=16, temple_length=145, detail=20)
    other.transformed(random_rotation(rng), 1 / 25.4).save(HERE / "frame-54-16-145-in.stl")
    JEWELRY.mkdir(parents=True, exist_ok=True)
    make_ring(inner_diameter=17.35, detail=48).transformed(random_rotation(rng), 1.0).save(
        JEWELRY / "ring-us7-mm.stl")
    make_ring(inner_diameter=19.8, head=False, detail=48).transformed(random_rotation(rng), 0.1).save(
        JEWELRY / "band-iso62-cm.glb")
    make_stud_earring().transformed(random_rotation(rng), 1.0).save(JEWELRY / "stud-mm.obj")
    make_hook_earring().transformed(random_rotation(rng), 0.001).save(JEWELRY / "hook-m.glb")


if __name__ == "__main__":
    main()
