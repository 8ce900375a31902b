from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lgcraft.errors import InputError, ModelError
from lgcraft.jewelry import models as m
from lgcraft.jewelry.recipe import (
    Recipe,
    a1111_parameters,
    parse_a1111,
    read_recipe,
    save_draft,
    slug,
)


def make_recipe(**changes) -> Recipe:
    base = dict(kind="txt2img", design="Bridal Halo", prompt="platinum ring, with: diamond",
                negative_prompt="blurry, text", seed=42, steps=4, guidance=1.5, width=512, height=384,
                model={"id": "org/model", "revision": "abc", "folder_hash": "f" * 64, "license": "apache-2.0"},
                scheduler="euler", scheduler_class="EulerDiscreteScheduler",
                versions={"lgcraft": "0.1.0", "torch": "2", "diffusers": "0.42"}, index=3)
    base.update(changes)
    return Recipe(**base)


def test_a1111_text_layout_and_parse():
    text = a1111_parameters(make_recipe())
    lines = text.split("\n")
    assert lines[0] == "platinum ring, with: diamond"
    assert lines[1] == "Negative prompt: blurry, text"
    assert lines[2].startswith("Steps: 4, Sampler: Euler, CFG scale: 1.5, Seed: 42, Size: 512x384")
    parsed = parse_a1111(text)
    assert parsed["Prompt"] == "platinum ring, with: diamond"
    assert parsed["Seed"] == "42" and parsed["Size"] == "512x384" and parsed["Model"] == "org/model"
    assert parsed["Model hash"] == "f" * 10


@settings(max_examples=60, deadline=None)
@given(model=st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r"),
                     min_size=1, max_size=30),
       seed=st.integers(0, 2**63 - 1), guidance=st.floats(0, 50, allow_nan=False))
def test_a1111_quoting_round_trips(model, seed, guidance):
    recipe = make_recipe(model={"id": model, "folder_hash": ""}, seed=seed, guidance=guidance)
    parsed = parse_a1111(a1111_parameters(recipe))
    assert parsed["Model"] == model.strip() or parsed["Model"] == model
    assert int(parsed["Seed"]) == seed


def test_file_names_are_deterministic():
    a, b = make_recipe(), make_recipe(versions={"torch": "other"})
    assert a.file_stem() == b.file_stem()          # versions do not rename a draft
    assert a.file_stem().startswith("003-bridal-halo-s42-")
    assert make_recipe(seed=43).file_stem() != a.file_stem()
    assert make_recipe(guidance=2.0).generation_key() != a.generation_key()
    assert slug("  ") == "draft"


def test_png_metadata_and_sidecar(tmp_path):
    from PIL import Image

    recipe = make_recipe()
    path = save_draft(Image.new("RGB", (16, 16), "white"), tmp_path / "x.png", recipe, {"quality": {"a": 1}})
    with Image.open(path) as image:
        assert "parameters" in image.text and "lgcraft-recipe" in image.text
    assert read_recipe(path) == recipe
    sidecar = json.loads(path.with_suffix(".json").read_text())
    assert sidecar["recipe"]["seed"] == 42 and sidecar["quality"] == {"a": 1}
    assert read_recipe(path.with_suffix(".json")) == recipe
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]   # no temp files left


def test_read_recipe_errors(tmp_path):
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("parameters", "a ring\nSteps: 4, Seed: 1, Size: 8x8")
    Image.new("RGB", (8, 8)).save(tmp_path / "a1111.png", pnginfo=info)
    with pytest.raises(InputError, match="no lgcraft recipe") as caught:
        read_recipe(tmp_path / "a1111.png")
    assert "AUTOMATIC1111" in caught.value.hint
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(InputError, match="not a readable image"):
        read_recipe(tmp_path / "bad.png")
    with pytest.raises(InputError, match="not found"):
        read_recipe(tmp_path / "none.png")


# -- models -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("licence", "verdict"), [
    ("apache-2.0", "yes"), ("MIT", "yes"), ("creativeml-openrail-m", "restricted"),
    ("openrail++", "restricted"), ("cc-by-nc-4.0", "no"), ("flux-1-dev-non-commercial-license", "no"),
    ("other", "unknown"), (None, "unknown"),
])
def test_commercial_use(licence, verdict):
    assert m.commercial_use(licence) == verdict


def fake_folder(tmp_path: Path, name: str, licence: str | None, weights: str = "model.safetensors") -> Path:
    folder = tmp_path / name
    (folder / "unet").mkdir(parents=True)
    (folder / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionPipeline"}))
    (folder / "unet" / "config.json").write_text("{}")
    (folder / "unet" / weights).write_bytes(b"0" * 100)
    if licence:
        (folder / "README.md").write_text(f"---\nlicense: {licence}\ntags:\n- x\n---\n# card\n")
    return folder


def test_missing_hub_model_says_how_to_get_it(empty_hub):
    with pytest.raises(ModelError) as caught:
        m.resolve_model("black-forest-labs/FLUX.2-klein-4B")
    assert "not in the local Hugging Face cache" in caught.value.message
    assert "hf download black-forest-labs/FLUX.2-klein-4B" in caught.value.hint


def test_missing_path_is_input_error(tmp_path):
    with pytest.raises(InputError, match="model not found"):
        m.resolve_model(str(tmp_path / "nope"))


def test_a_single_file_or_empty_model_is_named(tmp_path):
    weights = tmp_path / "ring-model.safetensors"
    weights.write_bytes(b"not a folder")
    with pytest.raises(InputError, match="ring-model.safetensors: a single file, not a diffusers"):
        m.resolve_model(str(weights))
    with pytest.raises(InputError, match="--model '': empty"):
        m.resolve_model("")


def test_cached_hub_model_resolves_with_revision(empty_hub, tmp_path, fake_cache):
    source = fake_folder(tmp_path, "src", None)
    fake_cache(empty_hub, "stabilityai/sd-turbo", source, revision="a" * 40)
    model = m.resolve_model("stabilityai/sd-turbo")
    assert model.source == "hub-cache" and model.revision == "a" * 40
    assert model.commercial == "no"                    # known non-commercial model
    with pytest.raises(ModelError, match="non-commercial") as caught:
        m.check_use(model, accept_license=False, allow_unsafe_weights=False)
    assert "--accept-license" in caught.value.hint
    assert m.check_use(model, accept_license=True, allow_unsafe_weights=False)
    listed = m.discover_models()
    assert [x.id for x in listed] == ["stabilityai/sd-turbo"]


def test_card_licence_non_commercial_folder(tmp_path):
    model = m.resolve_model(str(fake_folder(tmp_path, "nc", "cc-by-nc-sa-4.0")))
    assert model.license == "cc-by-nc-sa-4.0" and model.commercial == "no"
    with pytest.raises(ModelError, match="non-commercial"):
        m.check_use(model, accept_license=False, allow_unsafe_weights=False)


def test_pickle_weights_need_permission(tmp_path):
    model = m.resolve_model(str(fake_folder(tmp_path, "pkl", "apache-2.0", weights="diffusion_pytorch_model.bin")))
    assert not model.safetensors_only
    with pytest.raises(ModelError, match="pickle"):
        m.check_use(model, accept_license=False, allow_unsafe_weights=False)
    m.check_use(model, accept_license=False, allow_unsafe_weights=True)


def test_folder_hash_changes_with_weights(tmp_path):
    folder = fake_folder(tmp_path, "h", None)
    first = m.folder_hash(folder)
    assert m.folder_hash(folder) == first
    (folder / "unet" / "model.safetensors").write_bytes(b"1" * 100)
    assert m.folder_hash(folder) != first


def test_lora_rules(tmp_path):
    (tmp_path / "a.ckpt").write_bytes(b"x")
    with pytest.raises(ModelError, match="safetensors"):
        m.parse_lora(str(tmp_path / "a.ckpt"), allow_unsafe_weights=False, accept_license=False)
    (tmp_path / "b.safetensors").write_bytes(b"x")
    spec = m.parse_lora(f"{tmp_path / 'b.safetensors'}:0.7", allow_unsafe_weights=False, accept_license=False)
    assert spec.weight == 0.7 and len(spec.sha256) == 64
    with pytest.raises(InputError, match="not found"):
        m.parse_lora(str(tmp_path / "c.safetensors"), allow_unsafe_weights=False, accept_license=False)


@pytest.mark.parametrize("weight", ["nan", "inf", "-inf"])
def test_lora_weight_must_be_finite(tmp_path, weight):
    (tmp_path / "b.safetensors").write_bytes(b"x")
    with pytest.raises(InputError, match=f"the weight must be a finite number, got '{weight}'"):
        m.parse_lora(f"{tmp_path / 'b.safetensors'}:{weight}", allow_unsafe_weights=False, accept_license=False)


# -- quality ----------------------------------------------------------------------------------
def product_shot(colour, size=128, background=(255, 255, 255)):
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (size, size), background)
    draw = ImageDraw.Draw(image)
    draw.ellipse((size // 4, size // 4, 3 * size // 4, 3 * size // 4), outline=colour, width=size // 10)
    return image


@pytest.mark.parametrize(("colour", "family"), [((212, 175, 55), "yellow"), ((183, 110, 121), "rose"),
                                                ((200, 200, 205), "white")])
def test_metal_colour_seen(colour, family):
    from lgcraft.jewelry.quality import check_image

    report = check_image(product_shot(colour), family)
    assert report.metal_seen == family and report.clean_background and not report.warnings


def test_metal_mismatch_and_busy_background_warn():
    import numpy as np
    from PIL import Image

    from lgcraft.jewelry.quality import check_image

    report = check_image(product_shot((212, 175, 55)), "white")
    assert any("metal looks yellow" in w for w in report.warnings)
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8))
    assert not check_image(noise).clean_background


def test_sharpness_and_duplicates():
    from PIL import ImageFilter

    from lgcraft.jewelry.quality import near_duplicates, phash, sharpness

    crisp = product_shot((212, 175, 55))
    soft = crisp.filter(ImageFilter.GaussianBlur(4))
    assert sharpness(crisp) > 3 * sharpness(soft)
    other = product_shot((212, 175, 55), background=(20, 20, 20))
    hashes = [("a", f"{phash(crisp):016x}"), ("b", f"{phash(crisp.copy()):016x}"), ("c", f"{phash(other):016x}")]
    pairs = near_duplicates(hashes)
    assert {"a": "a", "b": "b", "distance": 0} in pairs
    assert all(p["b"] != "c" or p["a"] != "a" for p in pairs)


def test_guide_maps_of_the_example_sketch():
    import numpy as np

    from lgcraft.jewelry.drafts import canny_map, guide_size, open_image, scribble_map

    sketch = open_image(Path(__file__).parents[2] / "examples" / "jewelry" / "sketch-pendant.png", "image")
    assert guide_size(sketch, None) == (512, 512)
    assert guide_size(sketch.resize((1500, 1000)), None) == (1024, 680)
    scribble = np.asarray(scribble_map(sketch, (256, 256)).convert("L"))
    assert scribble[0, 0] == 0 and 0.01 < (scribble > 128).mean() < 0.2     # white lines on black
    edges = np.asarray(canny_map(sketch, (256, 256)).convert("L"))
    assert edges[0, 0] == 0 and 0.01 < (edges > 128).mean() < 0.2
