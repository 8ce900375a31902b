"""The mesh engine both trades build on: reading and writing meshes, repair, units,
decimation, the compiled kernels, GLB/USDZ export, previews and the batch runner. It
knows no trade: eyewear (`lgcraft.eyewear.prep`) and jewelry
(`lgcraft.jewelry.meshprep`) supply the analysis (unit, pose, measurements, anchors).

Public API (import the modules directly; this package imports nothing heavy):

- `lgcraft.meshes.batch`: `run_batch(paths, out_dir, job, options, jobs=, resume=,
  on_done=, row=, fields=)`, `BatchItem`, `FileResult`, `BatchResult`, `make_items`,
  `run_one`, `finish_batch`, `expand_inputs`, `output_names`, `input_digest`
- `lgcraft.meshes.prep`: `PrepSettings`, `PROFILES`, `Analysis`, `prep_model` (the
  per-file job, given an analysis), `prepare_file`, `inspect_file`
- `lgcraft.meshes.part`: `Part`, `triangle_areas`, `face_samples`, `weighted_axes`
- `lgcraft.meshes.mesh`: `load_model`, `FORMATS`; `lgcraft.meshes.gltf`: `read_gltf`,
  `glb_from_parts`
- `lgcraft.meshes.repair`: `repair_part`, `topology`, `face_components`
- `lgcraft.meshes.units`: `UNIT_SCALES_MM`, `pick_unit`
- `lgcraft.meshes.decimate`: `decimate_model`, `simplify_faces`, `hausdorff`
- `lgcraft.meshes.export`: `build_scene`, `write_usdz`; `lgcraft.meshes.preview`:
  `render_previews`
- `lgcraft.meshes.synthetic`: building blocks for generated models of known size
- `lgcraft.meshes.errors`: `MeshError`, `MeasureError`, `UnitError`
"""
