"""Eyewear: mesh preparation of frames for virtual try-on."""
