"""Jewelry: diffusion-based design drafts, and mesh prep for rings and earrings."""
