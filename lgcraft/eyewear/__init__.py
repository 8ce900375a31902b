"""Eyewear: frame preparation for virtual try-on, on the mesh engine (`lgcraft.meshes`).

Public API (import the modules directly; this package imports nothing heavy):

- `lgcraft.eyewear.prep`: `analyse_frame`, `prep_frame` (the batch job), `prep_frames`,
  `prepare_frame`
- `lgcraft.eyewear.pose`: `detect_pose`, `guess_unit`, `resolve_scale`
- `lgcraft.eyewear.frame`: `measure_frame` (boxing, marking, anchors)
- `lgcraft.eyewear.synthetic`: generated frames of known size
"""
