"""The one compiled part of lgcraft: the mesh kernels (lgcraft/meshes/_meshcore.c:
repair passes, exact point-to-surface distances, the simplifier's memory layout).

Optional: where no C compiler is present the install still succeeds and mesh prep runs
its numpy path (same results, 1.7-2x slower). Everything else is in pyproject.toml.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("lgcraft.meshes._meshcore", ["lgcraft/meshes/_meshcore.c"],
                             optional=True)])
