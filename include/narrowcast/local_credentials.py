"""The credential the local sandbox accepts. Not a secret: the sandbox only listens on loopback.

The runtime's default connections carry it and the emulators accept it; production code reaches the
emulators only through those connections, never by importing them.
"""

LOCAL_API_TOKEN = "sandbox-token"
