"""The prompt compiler: structured jewelry fields -> a product-shot prompt pair.

Diffusion models draw jewelry best when the prompt reads like a catalogue caption:
the piece first (metal, stone, cut, setting, style), then the shot (view, studio
light, plain background, macro lens). The negative prompt removes what spoils a
product draft: hands where none were asked, text and hallmarks (generated marks are
illegible and could mislead a customer), blur, clutter, deformed prongs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from lgcraft.jewelry import vocab

SHOT = ("professional jewelry product photograph, studio lighting, soft reflections, "
        "plain white seamless background, macro lens, sharp focus, high detail")
NEGATIVE = ("text, watermark, logo, hallmark, stamp, signature, blurry, out of focus, "
            "low quality, jpeg artifacts, cluttered background, deformed, asymmetrical prongs, "
            "extra stones, cropped, cartoon, illustration")
NEGATIVE_NO_HANDS = "hands, fingers, person"


@dataclass(frozen=True)
class DesignSpec:
    """One design, in the trade's words. All terms are canonical vocabulary keys."""

    name: str = "draft"
    type: str | None = None
    metal: str | None = None
    stone: str | None = None
    cut: str | None = None
    setting: str | None = None
    style: tuple[str, ...] = ()
    finish: str | None = None
    view: str | None = None
    prompt: str = ""          # free words added by the designer
    negative: str = ""        # extra negative words

    def to_dict(self) -> dict:
        data = asdict(self)
        data["style"] = list(self.style)
        return data


@dataclass(frozen=True)
class CompiledPrompt:
    prompt: str
    negative: str
    parts: dict[str, str] = field(default_factory=dict)


def validate(spec: DesignSpec, where: str = "", *, require_subject: bool = True) -> DesignSpec:
    """Canonical terms for every field of ``spec``; InputError with suggestions on typos."""
    changes: dict = {}
    for name in ("type", "metal", "stone", "cut", "setting", "finish", "view"):
        value = getattr(spec, name)
        if value is not None and value != "":
            changes[name] = vocab.check_term(name, value, where=where)
    styles = tuple(vocab.check_term("style", s, where=where) for s in spec.style)
    for style in styles:
        vocab.check_style_fits(style, changes.get("type"), where=where)
    changes["style"] = styles
    if require_subject and not spec.prompt.strip() and not changes.get("type"):
        place = f"{where}: " if where else ""
        from lgcraft.errors import InputError

        raise InputError(f"{place}nothing to draft: give a PROMPT or at least --type",
                         hint="e.g. --type ring --metal rose-gold --stone diamond")
    return DesignSpec(**{**asdict(spec), **changes})


def _article(words: str) -> str:
    return "an" if words[:1].lower() in "aeiou" else "a"


def compile_prompt(spec: DesignSpec) -> CompiledPrompt:
    """The prompt and negative prompt for ``spec`` (already validated).

    >>> compile_prompt(DesignSpec(type="ring", metal="platinum", stone="diamond")).prompt[:40]
    'platinum 950 ring with a diamond, profes'
    """
    parts: dict[str, str] = {}
    piece = vocab.PIECE_TYPES.get(spec.type or "", "piece of jewelry")
    ring_styles = [vocab.STYLES[s] for s in spec.style if s in vocab.STYLE_TYPES]
    other_styles = [vocab.STYLES[s] for s in spec.style if s not in vocab.STYLE_TYPES]
    head = " ".join([*([vocab.METALS[spec.metal]] if spec.metal else []), *ring_styles, piece])
    parts["piece"] = head
    stone_words = []
    if spec.stone and spec.stone != "none":
        stone = vocab.STONES[spec.stone]
        if spec.cut:
            stone = f"{vocab.CUTS[spec.cut]} {stone}"
        stone_words.append(f"with {_article(stone)} {stone}")
    elif spec.cut and spec.stone != "none":
        stone_words.append(f"with {_article(vocab.CUTS[spec.cut])} {vocab.CUTS[spec.cut]} stone")
    if spec.setting:
        stone_words.append(f"in a {vocab.SETTINGS[spec.setting]}")
    if stone_words:
        parts["stone"] = " ".join(stone_words)
    details = [*other_styles]
    if spec.finish:
        details.append(vocab.FINISHES[spec.finish])
    if details:
        parts["design"] = ", ".join(details)
    if spec.prompt.strip():
        parts["designer"] = " ".join(spec.prompt.split())
    parts["view"] = vocab.VIEWS[spec.view] if spec.view else vocab.VIEWS["three-quarter"]
    if not spec.type and "designer" in parts:
        # A free prompt without a type leads; the piece words would be generic.
        parts.pop("piece") if parts["piece"] == "piece of jewelry" else None
    first = " ".join(p for p in (parts.get("piece"), parts.get("stone")) if p)
    segments = [s for s in (first, parts.get("designer"), parts.get("design"), parts["view"], SHOT) if s]
    if not spec.type and "designer" in parts:
        segments.remove(parts["designer"])
        segments.insert(0, parts["designer"])
    negative = [NEGATIVE]
    if spec.view not in ("on-hand", "on-model"):
        negative.append(NEGATIVE_NO_HANDS)
    if spec.negative.strip():
        negative.append(" ".join(spec.negative.split()))
    return CompiledPrompt(prompt=", ".join(segments), negative=", ".join(negative), parts=parts)
