"""Decimated models look like the originals: each preview of a decimated model is
compared with the preview of the undecimated model from the same camera.

The bound: a mean absolute difference of at most MAX_DIFFERENCE (3 of 255) over the
model's pixels (where either preview departs from the studio background) at every
profile's budget; the real frames reach 1.0-1.4 there. A quarter of the triangles, asked
of every example as a stress case (the generated frames fit every profile untouched),
may differ by up to STRESS_DIFFERENCE (8: the generated frames' flat lenses reach 6.5,
their smooth shading follows the new triangulation). A decimation that wrecks the shape
(the control at the end: each part alone down to 1% of its triangles) lands above twice
MAX_DIFFERENCE. Documented in docs/eyewear.md ("Previews").
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lgcraft.meshes.prep import PROFILES, decimate_analysed

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "eyewear"
FILES = ["glasses-01/scene.gltf", "glasses-06/scene.gltf", "frame-52-18-140-cm-tilted.obj",
         "frame-52-18-140-m-upside-down.glb", "frame-54-16-145-in.stl"]
MAX_DIFFERENCE = 3.0
STRESS_DIFFERENCE = 8.0
SIZE = 256


def _scene(parts, analysis):
    from lgcraft.meshes.export import build_scene

    return build_scene(parts, analysis.anchors, scale=0.001, pivots=analysis.pivots)


@pytest.mark.render
@pytest.mark.slow
@pytest.mark.parametrize("name", FILES)
def test_decimated_previews_look_like_the_original_at_every_profile(name):
    from lgcraft.eyewear.prep import analyse_frame
    from lgcraft.meshes.mesh import load_model
    from lgcraft.meshes.prep import PrepSettings, repair_model
    from lgcraft.meshes.preview import camera_poses, preview_difference, render_images, scene_points

    parts, _ = repair_model(load_model(EXAMPLES / name).parts)
    analysis = analyse_frame(parts, PrepSettings(), name)
    original = _scene(analysis.parts, analysis)
    poses = camera_poses(scene_points(original))
    reference = render_images(original, SIZE, poses)
    triangles = sum(p.triangles for p in analysis.parts)
    # every profile, and a quarter of the triangles (the generated frames fit every profile)
    budgets = {**{k: p.max_triangles for k, p in PROFILES.items()}, "quarter": max(triangles // 4, 100)}
    seen = {}
    for label, budget in budgets.items():
        decimated = decimate_analysed(parts, analysis, budget)
        kept = sum(p.triangles for p in decimated)
        assert kept <= budget
        if kept == triangles:  # under budget: the very same parts
            assert all(a is b for a, b in zip(decimated, analysis.parts, strict=True))
            continue
        images = render_images(_scene(decimated, analysis), SIZE, poses)
        for view, image in images.items():
            seen[(label, view)] = preview_difference(reference[view], image)
    assert seen, "nothing was decimated"
    shown = {k: round(v, 2) for k, v in seen.items()}
    assert all(v <= (STRESS_DIFFERENCE if label == "quarter" else MAX_DIFFERENCE)
               for (label, _), v in seen.items()), shown


@pytest.mark.render
@pytest.mark.slow
def test_the_bound_catches_a_wrecked_decimation():
    from lgcraft.eyewear.prep import analyse_frame
    from lgcraft.meshes.decimate import decimate_part
    from lgcraft.meshes.mesh import load_model
    from lgcraft.meshes.prep import PrepSettings, repair_model
    from lgcraft.meshes.preview import camera_poses, preview_difference, render_images, scene_points

    parts, _ = repair_model(load_model(EXAMPLES / "glasses-06" / "scene.gltf").parts)
    analysis = analyse_frame(parts, PrepSettings(), "glasses-06")
    original = _scene(analysis.parts, analysis)
    poses = camera_poses(scene_points(original))
    reference = render_images(original, SIZE, poses)
    wrecked = [decimate_part(p, max(12, p.triangles // 100)) for p in analysis.parts]
    images = render_images(_scene(wrecked, analysis), SIZE, poses)
    differences = [preview_difference(reference[v], images[v]) for v in images]
    assert max(differences) > 2 * MAX_DIFFERENCE, differences
    assert np.isfinite(differences).all()
