"""Typed stubs of the Rust extension ``evospikenet._core``."""

__version__: str
