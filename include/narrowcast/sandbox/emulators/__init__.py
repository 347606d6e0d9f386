"""One module per emulated API; each exposes ``EMULATOR``."""
