"""Eyewear: mesh preparation of frames (and, on the same engine, rings and earrings)
for virtual try-on.

Public API (import the modules directly; this package imports nothing heavy):

- `lgcraft.eyewear.pipeline`: `PrepSettings`, `PROFILES`, `prepare_file`, `run_batch`,
  `inspect_file`, `expand_inputs`
- `lgcraft.eyewear.mesh`: `load_model`, `Part`
- `lgcraft.eyewear.repair`: `repair_part`, `topology`
- `lgcraft.eyewear.pose`: `detect_pose`, `guess_unit`
- `lgcraft.eyewear.frame`: `measure_frame` (boxing, anchors)
- `lgcraft.eyewear.jewelry`: `find_ring`, `ring_sizes`, `analyse_jewelry`
- `lgcraft.eyewear.decimate`: `decimate_part`, `hausdorff`
- `lgcraft.eyewear.export`: `build_scene`, `write_usdz`, `render_previews`
- `lgcraft.eyewear.synthetic`: generated frames, rings and earrings of known size
- `lgcraft.eyewear.errors`: `MeshError`, `MeasureError`, `UnitError`
"""
