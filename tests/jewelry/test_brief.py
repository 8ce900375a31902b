from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lgcraft.errors import InputError
from lgcraft.jewelry.brief import parse_size, plan_from_brief, plan_from_options, stable_seed
from lgcraft.jewelry.prompt import DesignSpec

EXAMPLES = Path(__file__).parents[2] / "examples" / "jewelry"


def test_bridal_matrix_drafts_every_combination():
    plan = plan_from_brief(EXAMPLES / "bridal-collection.toml")
    # solitaire: 3 metals x 3 stones x 2 settings x 1 seed; halo-oval: 2 x 2 x 2 seeds
    assert len(plan.jobs) == 18 + 8
    assert plan.collection == "bridal-2026"
    combos = {(j.spec.metal, j.spec.stone, j.spec.setting) for j in plan.jobs if j.spec.style == ("solitaire",)}
    assert len(combos) == 18
    assert {j.seed for j in plan.jobs if j.spec.style == ("solitaire",)} == {2026}
    assert [j.index for j in plan.jobs] == list(range(1, 27))
    halo = [j for j in plan.jobs if j.design.startswith("halo-oval")]
    assert halo[0].spec.style == ("halo", "vintage") and halo[0].steps == 4 and halo[0].width == 512


def test_earring_capsule_yaml():
    plan = plan_from_brief(EXAMPLES / "earring-capsule.yaml")
    assert len(plan.jobs) == 2 * 2 + 3 + 2
    assert all(j.spec.type == "earrings" for j in plan.jobs)
    hoops = [j for j in plan.jobs if j.design.startswith("sculpted-hoop")]
    assert {j.spec.finish for j in hoops} == {"high-polish", "hammered"}
    assert all(j.seed == 31 for j in hoops)


def test_cli_count_and_seed_override(tmp_path):
    plan = plan_from_brief(EXAMPLES / "earring-capsule.yaml", count=2, seed=100)
    diamond = [j for j in plan.jobs if j.design.startswith("diamond-huggie")]
    assert [j.seed for j in diamond] == [100, 101] * 3


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_typo_in_brief_names_the_design_and_suggests(tmp_path):
    brief = write(tmp_path, "b.toml", '[[design]]\nname = "x"\ntype = "ring"\nmetal = ["platinum", "rose-glod"]\n')
    with pytest.raises(InputError) as caught:
        plan_from_brief(brief)
    assert "design 1 (x)" in caught.value.message and "rose-glod" in caught.value.message
    assert "rose-gold" in caught.value.hint


def test_unknown_key_suggests(tmp_path):
    brief = write(tmp_path, "b.yaml", "designs:\n  - name: x\n    type: ring\n    metl: platinum\n")
    with pytest.raises(InputError) as caught:
        plan_from_brief(brief)
    assert "'metl'" in caught.value.message and "metal" in caught.value.hint


@pytest.mark.parametrize(("name", "text", "message"), [
    ("b.toml", "[[design]\n", "not valid TOML"),
    ("b.yaml", "designs: [\n", "not valid YAML"),
    ("b.json", "{}", "must be .toml"),
    ("b.toml", 'name = "x"\n', "no designs"),
    ("b.toml", '[[design]]\ntype = "ring"\n', "needs a name"),
    ("b.toml", '[[design]]\nname = "a"\ntype = "ring"\nsteps = 0\n', "steps"),
    ("b.toml", '[[design]]\nname = "a"\ntype = "ring"\nsize = "500x500"\n', "multiples of 8"),
    ("b.toml", '[[design]]\nname = "a"\ntype = "ring"\nseeds = []\n', "empty list"),
    ("b.toml", '[[design]]\nname = "a"\ntype = "ring"\n[[design]]\nname = "a"\ntype = "ring"\n', "used twice"),
])
def test_bad_briefs(tmp_path, name, text, message):
    with pytest.raises(InputError, match=message):
        plan_from_brief(write(tmp_path, name, text))


def test_missing_brief(tmp_path):
    with pytest.raises(InputError, match="brief not found"):
        plan_from_brief(tmp_path / "none.toml")


def test_seeds_are_stable_without_a_seed(tmp_path):
    brief = write(tmp_path, "b.toml", '[[design]]\nname = "signet"\ntype = "ring"\ncount = 2\n')
    jobs = plan_from_brief(brief).jobs
    assert [j.seed for j in jobs] == [stable_seed("signet"), stable_seed("signet") + 1]


def test_plan_from_options():
    plan = plan_from_options(DesignSpec(type="ring", metal="platinum"), count=3, seed=9, steps=4, size=(64, 32))
    assert [j.seed for j in plan.jobs] == [9, 10, 11]
    assert plan.jobs[0].width == 64 and plan.jobs[0].height == 32 and plan.jobs[0].steps == 4


@pytest.mark.parametrize("bad", ["512", "512x", "axb", "500x512", "0x0", "8192x512"])
def test_bad_sizes(bad):
    with pytest.raises(InputError):
        parse_size(bad)


def test_dry_run_prints_the_plan_without_torch():
    code = (
        "import sys, json\n"
        "from lgcraft.cli import main\n"
        f"rc = main(['--json', 'jewelry', 'draft', '--brief', r'{EXAMPLES / 'bridal-collection.toml'}', '--dry-run'])\n"
        "assert rc == 0, rc\n"
        "heavy = [m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules]\n"
        "sys.stderr.write('HEAVY=' + ','.join(heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "HEAVY=" in done.stderr and done.stderr.rstrip().endswith("HEAVY=")
    data = json.loads(done.stdout)
    assert data["dry_run"] is True and data["images"] == 26 and len(data["jobs"]) == 26
    assert {"index", "design", "seed", "prompt", "negative_prompt", "spec"} <= set(data["jobs"][0])
    assert data["model"] == "black-forest-labs/FLUX.2-klein-4B"


def test_dry_run_typo_is_a_one_line_error(capsys):
    from lgcraft.cli import main

    rc = main(["jewelry", "draft", "--type", "ring", "--metal", "platnum", "--dry-run"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "unknown metal 'platnum'" in err and "platinum" in err and "Traceback" not in err


def test_brief_and_design_options_conflict(capsys):
    from lgcraft.cli import main

    rc = main(["jewelry", "draft", "--brief", str(EXAMPLES / "earring-capsule.yaml"), "--metal", "platinum",
               "--dry-run"])
    assert rc == 2
    assert "--metal cannot be combined with --brief" in capsys.readouterr().err


def test_verbose_dry_run_shows_compiled_prompt(capsys):
    from lgcraft.cli import main

    rc = main(["--verbose", "jewelry", "draft", "--type", "ring", "--metal", "platinum", "--seed", "3",
               "--dry-run"])
    err = capsys.readouterr().err
    assert rc == 0
    assert "prompt: platinum 950 ring" in err.replace("\n", " ") or "platinum 950 ring" in err
    assert "negative:" in err


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from lgcraft.jewelry import vocab  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(metals=st.lists(st.sampled_from(sorted(vocab.METALS)), min_size=1, max_size=3, unique=True),
       stones=st.lists(st.sampled_from(sorted(vocab.STONES)), min_size=1, max_size=3, unique=True),
       seeds=st.lists(st.integers(0, 10**6), min_size=1, max_size=3, unique=True),
       fmt=st.sampled_from(["toml", "yaml"]))
def test_matrix_size_is_the_product(tmp_path_factory, metals, stones, seeds, fmt):
    folder = tmp_path_factory.mktemp("m")
    if fmt == "toml":
        text = (f'[[design]]\nname = "m"\ntype = "ring"\nmetal = {json.dumps(metals)}\n'
                f"stone = {json.dumps(stones)}\nseeds = {json.dumps(seeds)}\n")
    else:
        text = f"designs:\n  - name: m\n    type: ring\n    metal: {json.dumps(metals)}\n" \
               f"    stone: {json.dumps(stones)}\n    seeds: {json.dumps(seeds)}\n"
    plan = plan_from_brief(write(folder, f"b.{fmt}", text))
    assert len(plan.jobs) == len(metals) * len(stones) * len(seeds)
    assert {(j.spec.metal, j.spec.stone, j.seed) for j in plan.jobs} == {
        (m, s, seed) for m in metals for s in stones for seed in seeds}
    assert len({j.design for j in plan.jobs}) == len(metals) * len(stones) if len(metals) * len(stones) > 1 else True


def test_models_known_lists_licences(capsys):
    from lgcraft.cli import main

    assert main(["--json", "jewelry", "models", "--known"]) == 0
    data = json.loads(capsys.readouterr().out)
    by_id = {m["id"]: m for m in data["models"]}
    assert by_id[data["default"]]["commercial_use"] == "yes"
    assert by_id["stabilityai/sd-turbo"]["commercial_use"] == "no"
