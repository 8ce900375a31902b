"""The diffusers side: load a pipeline once, draft one image per call.

torch and diffusers are imported here only, inside functions. One image per call
with its own CPU ``torch.Generator``: a draft is then a pure function of its recipe,
and ``replay`` of one image matches the batch it came from bit for bit on the same
device and versions (batched generation differs by ~1e-6 from single images).
"""

from __future__ import annotations

import inspect
import os
import platform
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lgcraft import __version__
from lgcraft.errors import DependencyError, InputError, ModelError, OperationError
from lgcraft.jewelry.models import KNOWN_MODELS, LocalModel, LoraSpec

# lgcraft scheduler name -> (diffusers class, extra config)
SCHEDULERS: dict[str, tuple[str, dict[str, Any]]] = {
    "euler": ("EulerDiscreteScheduler", {}),
    "euler-a": ("EulerAncestralDiscreteScheduler", {}),
    "ddim": ("DDIMScheduler", {}),
    "dpm++2m": ("DPMSolverMultistepScheduler", {}),
    "dpm++2m-karras": ("DPMSolverMultistepScheduler", {"use_karras_sigmas": True}),
    "pndm": ("PNDMScheduler", {}),
    "lms": ("LMSDiscreteScheduler", {}),
    "heun": ("HeunDiscreteScheduler", {}),
    "unipc": ("UniPCMultistepScheduler", {}),
    "lcm": ("LCMScheduler", {}),
    "flow-euler": ("FlowMatchEulerDiscreteScheduler", {}),
}
MODES = ("txt2img", "img2img", "inpaint", "controlnet")
DEVICES = ("auto", "cuda", "mps", "cpu")
DTYPES = ("auto", "float32", "float16", "bfloat16")
GENERIC_STEPS, GENERIC_GUIDANCE = 25, 7.0
OOM_HINT = ("try a smaller --size, fewer images per run (-n), --attention-slicing, --vae-tiling, "
            "or --cpu-offload on a GPU")


def check_scheduler(name: str | None) -> str | None:
    if name is None:
        return None
    key = name.strip().lower()
    if key not in SCHEDULERS:
        import difflib

        close = difflib.get_close_matches(key, list(SCHEDULERS), n=2)
        raise InputError(f"unknown --scheduler {name!r}",
                         hint=f"did you mean {close[0]!r}?" if close else f"one of: {', '.join(SCHEDULERS)}")
    return key


class Interrupted(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised inside the denoising loop when the user asked to stop."""


@dataclass
class EngineOptions:
    model: LocalModel
    mode: str = "txt2img"
    device: str = "auto"
    dtype: str = "auto"
    scheduler: str | None = None
    loras: list[LoraSpec] = field(default_factory=list)
    tiny_vae: LocalModel | None = None
    control_model: LocalModel | None = None
    allow_unsafe_weights: bool = False
    attention_slicing: bool = False
    vae_tiling: bool = False
    cpu_offload: bool = False


def versions() -> dict[str, str]:
    import diffusers
    import torch
    import transformers

    return {"lgcraft": __version__, "torch": torch.__version__, "diffusers": diffusers.__version__,
            "transformers": transformers.__version__, "python": platform.python_version()}


def pick_device(requested: str) -> str:
    import torch

    if requested not in DEVICES:
        raise InputError(f"unknown --device {requested!r}", hint=f"one of: {', '.join(DEVICES)}")
    has_mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "mps" if has_mps else "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda: no CUDA GPU is available to torch",
                         hint="use --device auto or cpu")
    if requested == "mps" and not has_mps:
        raise InputError("--device mps: Apple MPS is not available", hint="use --device auto or cpu")
    return requested


def pick_dtype(requested: str, device: str) -> str:
    if requested not in DTYPES:
        raise InputError(f"unknown --dtype {requested!r}", hint=f"one of: {', '.join(DTYPES)}")
    if requested == "auto":
        return "float32" if device == "cpu" else "float16"
    if requested == "float16" and device == "cpu":
        raise InputError("--dtype float16 is not supported on CPU", hint="use float32 (the default on CPU)")
    return requested


def _index_class(folder) -> str | None:
    import json
    from pathlib import Path

    try:
        return json.loads((Path(folder) / "model_index.json").read_text(encoding="utf-8")).get("_class_name")
    except (OSError, ValueError, AttributeError):
        return None


def _is_oom(exc: BaseException) -> bool:
    import torch

    oom_type = getattr(torch, "OutOfMemoryError", None)
    return isinstance(exc, MemoryError) or (oom_type is not None and isinstance(exc, oom_type)) \
        or "out of memory" in str(exc).lower()


class Engine:
    """A loaded pipeline. Build once per batch; call `draft` per image."""

    def __init__(self, options: EngineOptions) -> None:
        os.environ["HF_HUB_OFFLINE"] = "1"      # never reach for the network while loading
        os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        import torch

        self.options = options
        self.device = pick_device(options.device)
        self.dtype = pick_dtype(options.dtype, self.device)
        self.notes: list[str] = []
        torch_dtype = getattr(torch, self.dtype)
        if options.cpu_offload and self.device == "cpu":
            raise InputError("--cpu-offload needs a GPU (cuda or mps); on CPU the model is already in RAM")
        try:
            self.pipe = self._load(torch_dtype)
        except MemoryError as exc:
            raise OperationError(f"out of memory while loading {options.model.id}", hint=OOM_HINT) from exc
        self.scheduler_class = type(self.pipe.scheduler).__name__
        self._params = set(inspect.signature(self.pipe.__call__).parameters)
        if "negative_prompt" not in self._params:
            self.notes.append(f"{type(self.pipe).__name__} takes no negative prompt; it is recorded but unused")

    # -- loading ----------------------------------------------------------------------------
    def _load(self, torch_dtype):
        import diffusers
        from diffusers import DiffusionPipeline

        diffusers.utils.logging.set_verbosity_error()
        diffusers.utils.logging.disable_progress_bar()
        try:
            import transformers

            transformers.utils.logging.set_verbosity_error()
            transformers.utils.logging.disable_progress_bar()
        except Exception:  # noqa: BLE001 - logging knobs are best effort
            pass
        opts = self.options
        # The concrete class named in model_index.json, as DiffusionPipeline would pick it,
        # imported directly: diffusers then loads only that pipeline's modules.
        pipeline_class = getattr(diffusers, str(_index_class(opts.model.path)), None)
        if not (isinstance(pipeline_class, type) and issubclass(pipeline_class, DiffusionPipeline)):
            pipeline_class = DiffusionPipeline
        kwargs = {"local_files_only": True, "torch_dtype": torch_dtype,
                  "use_safetensors": None if opts.allow_unsafe_weights else True}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                pipe = pipeline_class.from_pretrained(str(opts.model.path), **kwargs)
            except (OSError, ValueError) as exc:
                raise ModelError(f"cannot load model {opts.model.id} from {opts.model.path}: "
                                 f"{str(exc).splitlines()[0][:300]}",
                                 hint="is the folder a complete diffusers pipeline with safetensors weights?") from exc
            pipe = self._for_mode(pipe, torch_dtype)
            if opts.tiny_vae is not None:
                self._use_tiny_vae(pipe, torch_dtype)
            if opts.scheduler:
                self._set_scheduler(pipe)
            if opts.loras:
                self._load_loras(pipe)
        if hasattr(pipe, "set_progress_bar_config"):
            pipe.set_progress_bar_config(disable=True)
        if opts.cpu_offload:
            pipe.enable_model_cpu_offload(device=self.device)
        else:
            pipe.to(self.device)
        if opts.attention_slicing and hasattr(pipe, "enable_attention_slicing"):
            pipe.enable_attention_slicing()
        if opts.vae_tiling and getattr(pipe, "vae", None) is not None and hasattr(pipe.vae, "enable_tiling"):
            pipe.vae.enable_tiling()
        return pipe

    def _for_mode(self, pipe, torch_dtype):
        mode = self.options.mode
        try:
            if mode == "img2img":
                from diffusers import AutoPipelineForImage2Image

                return AutoPipelineForImage2Image.from_pipe(pipe)
            if mode == "inpaint":
                from diffusers import AutoPipelineForInpainting

                return AutoPipelineForInpainting.from_pipe(pipe)
            if mode == "controlnet":
                from diffusers import AutoPipelineForText2Image, ControlNetModel

                control = self.options.control_model
                net = ControlNetModel.from_pretrained(
                    str(control.path), local_files_only=True, torch_dtype=torch_dtype,
                    use_safetensors=None if self.options.allow_unsafe_weights else True)
                return AutoPipelineForText2Image.from_pipe(pipe, controlnet=net)
        except (ValueError, KeyError, OSError) as exc:
            raise ModelError(f"model {self.options.model.id} ({type(pipe).__name__}) has no {mode} "
                             f"pipeline: {str(exc).splitlines()[0][:200]}",
                             hint="use a Stable Diffusion or SDXL family model for refine/inpaint/ControlNet") from exc
        return pipe

    def _use_tiny_vae(self, pipe, torch_dtype) -> None:
        from diffusers import AutoencoderTiny

        tiny = AutoencoderTiny.from_pretrained(
            str(self.options.tiny_vae.path), local_files_only=True, torch_dtype=torch_dtype,
            use_safetensors=None if self.options.allow_unsafe_weights else True)
        vae = getattr(pipe, "vae", None)
        want = getattr(getattr(vae, "config", None), "latent_channels", None)
        if want is not None and tiny.config.latent_channels != want:
            raise ModelError(f"tiny VAE {self.options.tiny_vae.id} has {tiny.config.latent_channels} latent "
                             f"channels, the model needs {want}",
                             hint="use the tiny VAE made for this model family (taesd for SD 1.x/2.x, taesdxl for SDXL)")
        pipe.vae = tiny

    def _set_scheduler(self, pipe) -> None:
        import diffusers

        class_name, extra = SCHEDULERS[self.options.scheduler]
        compatible = {c.__name__ for c in getattr(pipe.scheduler, "compatibles", [])} | {
            type(pipe.scheduler).__name__}
        if class_name not in compatible:
            raise InputError(f"--scheduler {self.options.scheduler} does not work with "
                             f"{type(pipe).__name__} (it uses {type(pipe.scheduler).__name__})",
                             hint="leave --scheduler out to use the model's own")
        cls = getattr(diffusers, class_name)
        pipe.scheduler = cls.from_config(pipe.scheduler.config, **extra)

    def _load_loras(self, pipe) -> None:
        import importlib.util

        if importlib.util.find_spec("peft") is None:
            raise DependencyError("--lora needs the peft package", hint="pip install 'lgcraft[jewelry]'")
        if not hasattr(pipe, "load_lora_weights"):
            raise ModelError(f"{type(pipe).__name__} does not take LoRA weights")
        names = []
        for number, lora in enumerate(self.options.loras):
            name = f"lora{number}"
            try:
                pipe.load_lora_weights(str(lora.path.parent), weight_name=lora.path.name, adapter_name=name)
            except (ValueError, KeyError, OSError, RuntimeError) as exc:
                raise ModelError(f"--lora {lora.path}: does not fit {self.options.model.id} "
                                 f"({str(exc).splitlines()[0][:200]})") from exc
            names.append(name)
        pipe.set_adapters(names, adapter_weights=[lo.weight for lo in self.options.loras])

    # -- drafting ---------------------------------------------------------------------------
    def defaults(self) -> tuple[int, float]:
        known = KNOWN_MODELS.get(self.options.model.id)
        steps = known.steps if known and known.steps else GENERIC_STEPS
        guidance = known.guidance if known and known.guidance is not None else GENERIC_GUIDANCE
        return steps, guidance

    def draft(self, *, prompt: str, negative_prompt: str, seed: int, steps: int, guidance: float,
              width: int | None, height: int | None, image=None, mask_image=None,
              strength: float | None = None, control_scale: float | None = None,
              should_stop: Callable[[], bool] | None = None,
              on_step: Callable[[int, int], None] | None = None):
        """One image (PIL). Raises `Interrupted` if ``should_stop`` turns true mid-way."""
        import torch

        kwargs: dict[str, Any] = {
            "prompt": prompt, "negative_prompt": negative_prompt or None,
            "num_inference_steps": steps, "guidance_scale": guidance,
            "generator": torch.Generator("cpu").manual_seed(seed), "output_type": "pil",
        }
        if width and height:
            kwargs["width"], kwargs["height"] = width, height
        if image is not None:
            kwargs["image"] = image
        if mask_image is not None:
            kwargs["mask_image"] = mask_image
        if strength is not None:
            kwargs["strength"] = strength
        if control_scale is not None:
            kwargs["controlnet_conditioning_scale"] = control_scale

        def callback(pipe, step, timestep, tensors):
            if on_step is not None:
                on_step(step + 1, steps)
            if should_stop is not None and should_stop():
                raise Interrupted()
            return tensors

        kwargs["callback_on_step_end"] = callback
        kwargs = {k: v for k, v in kwargs.items() if k in self._params}
        try:
            with torch.inference_mode():
                result = self.pipe(**kwargs)
        except Interrupted:
            raise
        except (RuntimeError, MemoryError) as exc:
            if _is_oom(exc):
                raise OperationError(f"out of memory drafting a {width}x{height} image on {self.device}",
                                     hint=OOM_HINT) from exc
            raise OperationError(f"generation failed: {str(exc).splitlines()[0][:300]}") from exc
        except ValueError as exc:
            raise InputError(f"the pipeline refused the parameters: {str(exc).splitlines()[0][:300]}") from exc
        return result.images[0]
