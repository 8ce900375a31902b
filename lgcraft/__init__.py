"""lgcraft: AI and modern tooling for the consumer-goods trades of Longgang.

One command-line suite over one library, a package per trade:
`lgcraft.jewelry`, `lgcraft.eyewear`, `lgcraft.toys`, `lgcraft.provenance`.
"""

__version__ = "0.1.0"
