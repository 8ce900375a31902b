"""Toys: behavior scripts for smart toys: checks, simulator, compiler."""
