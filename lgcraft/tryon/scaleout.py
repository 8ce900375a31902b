"""`eyewear tryon` on Ray: one actor per CPU slot opens the landmark model and the
renderer once, then draws the photos it is given, one at a time; the composites and
figures are the ones a local run makes (the same names, the same pixels).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

from lgcraft.run.spec import ExecutorSpec
from lgcraft.tryon.photos import PhotoBatch, PhotoResult


class FramesActor:
    """A `Session` on a Ray worker, and the frames every photo gets."""

    def __init__(self, frames: list[str], out_dir: str, face: int | None, cwd: str,
                 cpus: int) -> None:
        os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
        os.chdir(cwd)  # relative paths mean what they mean on the driver
        from lgcraft.tryon.photos import Session

        self.frames = [Path(f) for f in frames]
        self.out_dir = Path(out_dir)
        self.face = face
        self.error: Exception | None = None
        try:
            self.session = Session()
        except Exception as exc:  # noqa: BLE001 - raised by ready(): a constructor that
            self.error = exc       # raised would be restarted, again and again

    def ready(self) -> dict:
        if self.error is not None:
            raise self.error
        return {"pid": os.getpid()}

    def run(self, number: int, photo_and_stem: tuple[str, str]) -> PhotoResult:
        from lgcraft.tryon.photos import tryon_frames

        photo, stem = photo_and_stem
        return tryon_frames([Path(photo)], self.frames, self.out_dir, face=self.face,
                            session=self.session, stems=[stem]).results[0]

    def stop(self) -> None:  # a photo takes a second or two: it is finished, not dropped
        pass


def tryon_frames_on_ray(executor: ExecutorSpec, photos: Sequence[Path], frames: Sequence[Path],
                        out_dir: Path, *, face: int | None = None,
                        on_photo: Callable[[PhotoResult], None] | None = None) -> PhotoBatch:
    """`lgcraft.tryon.photos.tryon_frames` with the photos shared among Ray actors."""
    from lgcraft.run import open_executor
    from lgcraft.tryon.models import read_prepared
    from lgcraft.tryon.photos import _output_names, check_out_dir, check_photos

    for path in frames:  # bad frames and photos stop the run before any worker starts
        read_prepared(path, "frame")
    check_photos(photos)
    check_out_dir(out_dir, photos)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    items = [(str(p), stem) for p, stem in zip(photos, _output_names(photos), strict=True)]
    with open_executor(executor) as cluster:
        cluster.check_storage(out_dir, [*photos, *frames])
        results, _ = cluster.map_actors(
            FramesActor, ([str(f) for f in frames], str(out_dir), face, os.getcwd()), items,
            on_done=(lambda i, result: on_photo(result)) if on_photo else None)
    return PhotoBatch(results)
