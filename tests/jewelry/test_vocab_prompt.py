from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lgcraft.errors import InputError
from lgcraft.jewelry import vocab
from lgcraft.jewelry.prompt import DesignSpec, compile_prompt, validate


def test_terms_are_normalised():
    assert vocab.check_term("metal", "Rose Gold") == "rose-gold"
    assert vocab.check_term("setting", "6_prong") == "6-prong"
    assert vocab.check_term("setting", "pavé") == "pave"


@pytest.mark.parametrize(("field", "typo", "suggestion"), [
    ("metal", "platnum", "platinum"), ("stone", "saphire", "sapphire"),
    ("cut", "cushon", "cushion"), ("type", "earings", "earrings"), ("style", "art-deko", "art-deco"),
])
def test_typos_get_suggestions(field, typo, suggestion):
    with pytest.raises(InputError) as caught:
        vocab.check_term(field, typo)
    assert typo in caught.value.message
    assert suggestion in caught.value.hint


def test_style_must_fit_the_piece():
    with pytest.raises(InputError, match="does not apply to a pendant"):
        validate(DesignSpec(type="pendant", style=("solitaire",)))


def test_nothing_to_draft():
    with pytest.raises(InputError, match="nothing to draft"):
        validate(DesignSpec())


def test_compiled_prompt_reads_like_a_catalogue_caption():
    spec = validate(DesignSpec(type="ring", metal="platinum", stone="diamond", cut="oval",
                               setting="6-prong", style=("halo", "vintage"), finish="milgrain"))
    compiled = compile_prompt(spec)
    assert compiled.prompt.startswith("platinum 950 halo ring with an oval cut diamond in a six-prong setting")
    assert "vintage inspired" in compiled.prompt and "milgrain" in compiled.prompt
    assert "white seamless background" in compiled.prompt
    assert "hallmark" in compiled.negative and "hallmark" not in compiled.prompt
    assert "hands" in compiled.negative


def test_on_hand_view_does_not_ban_hands():
    compiled = compile_prompt(validate(DesignSpec(type="ring", view="on-hand")))
    assert "hands" not in compiled.negative
    assert "worn on a hand" in compiled.prompt


def test_free_prompt_leads_without_type():
    compiled = compile_prompt(validate(DesignSpec(prompt="a  dragon pendant\nin jade")))
    assert compiled.prompt.startswith("a dragon pendant in jade,")


@given(metal=st.sampled_from(sorted(vocab.METALS)), stone=st.sampled_from(sorted(vocab.STONES)),
       cut=st.sampled_from(sorted(vocab.CUTS)), setting=st.sampled_from(sorted(vocab.SETTINGS)),
       piece=st.sampled_from(sorted(vocab.PIECE_TYPES)), view=st.sampled_from(sorted(vocab.VIEWS)))
def test_every_valid_combination_compiles(metal, stone, cut, setting, piece, view):
    compiled = compile_prompt(validate(DesignSpec(type=piece, metal=metal, stone=stone, cut=cut,
                                                  setting=setting, view=view)))
    assert vocab.METALS[metal] in compiled.prompt
    assert vocab.VIEWS[view] in compiled.prompt
    if stone != "none":
        assert vocab.STONES[stone] in compiled.prompt
    assert "\n" not in compiled.prompt and "  " not in compiled.prompt
