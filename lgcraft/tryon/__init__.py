"""Virtual try-on engine shared by the trades: frames and earrings on real faces at true
scale, from photos (and the same rule in the browser page).

Public API (import the modules directly; this package imports nothing heavy):

- `lgcraft.tryon.constants`: `SCALE_RULE`, `IRIS_DIAMETER_MM`, `MIN_IRIS_PX`,
  `ADULT_PD_MM`, `CARD_WIDTH_MM`, landmark indices (no numpy: the page may read them)
- `lgcraft.tryon.scale`: `pd_from_points`, `estimate_scale` (the robust single-photo PD),
  `parse_card`, `apply_card` (scale from a marked ID-1 card instead of the iris)
- `lgcraft.tryon.landmarks`: `load_photo` (EXIF orientation), `FaceMeshModel`
  (MediaPipe face mesh with iris, offline, lazy)
- `lgcraft.tryon.pose`: `fit_pose` (canonical face fit: yaw/pitch/roll), `Camera`
- `lgcraft.tryon.face`: `analyse_face` -> `FaceAnalysis` (PD, mono PD, face width, pose)
- `lgcraft.tryon.fit`: `fit_ranges`, `read_catalog`, `rank_catalog` (frame sizes that fit)
- `lgcraft.tryon.models`: `read_prepared` (a prepared GLB, mm, anchors)
- `lgcraft.tryon.placement`: `place_frame`, `place_earrings`
- `lgcraft.tryon.occluder`: `head_occluder` (face surface + skull, depth only)
- `lgcraft.tryon.render`: `Compositor` (pyrender on EGL)
- `lgcraft.tryon.photos`: `tryon_frames`, `tryon_earrings`, `measure_photos`, `Session`
- `lgcraft.tryon.scaleout`: `tryon_frames_on_ray` (the same on Ray actors)
"""
