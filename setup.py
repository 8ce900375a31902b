"""The one compiled part of lgcraft: the mesh-repair kernels (lgcraft/eyewear/_meshcore.c).

Optional: where no C compiler is present the install still succeeds and repair runs its
numpy path (same results, several times slower). Everything else is in pyproject.toml.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("lgcraft.eyewear._meshcore", ["lgcraft/eyewear/_meshcore.c"],
                             optional=True)])
