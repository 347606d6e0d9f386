"""Emulators of every external API Narrowcast talks to, served on loopback for demos and tests.

Production code never imports this package; it is reached only over HTTP, through the same connections a
user would point at the real services.
"""
