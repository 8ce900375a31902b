"""The compiled kernels (`_meshcore.c`: repair passes, exact point-to-surface distances),
or None where this install could not build them (no C compiler): callers then take
their numpy path, which gives the same results more slowly. Callers read ``MODULE`` at
call time, so tests can run both paths."""

try:
    from lgcraft.eyewear import _meshcore as MODULE
except ImportError:
    MODULE = None
