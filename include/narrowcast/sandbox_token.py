"""The credential the local sandbox accepts. Not a secret: the sandbox only listens on loopback.

Kept outside ``narrowcast.sandbox`` so production code (the runtime's default connections) never imports the
sandbox package.
"""

SANDBOX_TOKEN = "sandbox-token"
