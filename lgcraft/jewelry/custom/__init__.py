"""Custom pieces (`lgcraft jewelry custom`): a band, solitaire or signet from an order to
a checked, weighed and priced mesh. Nothing heavy is imported here.

Public API (import the modules directly):

- `lgcraft.jewelry.custom.order`: `make_order` (flags or a CSV row -> `CustomOrder`)
- `lgcraft.jewelry.custom.make`: `make_piece` (build, check, write), `CustomOptions`
- `lgcraft.jewelry.custom.pieces`: `build_piece`, `mesh_arrays`
- `lgcraft.jewelry.custom.checks`: `run_checks`, `Limits`, `limits_from`
- `lgcraft.jewelry.custom.sizes`: `parse_size`, `sizes_for_diameter`, `TABLES`
- `lgcraft.jewelry.custom.profiles`: `band_section`, `closed_form_volume`
- `lgcraft.jewelry.custom.stones`: `make_stone`; `metals`: `alloy`, `weight_g`
- `lgcraft.jewelry.custom.fonts`: `load_font`; `engrave`: `layout_text`, `curved_cutter`
- `lgcraft.jewelry.custom.batch`: `run_orders` (on `lgcraft.meshes.batch`)
- `lgcraft.jewelry.custom.record`: `record_pieces` (provenance custom-order records)
"""
