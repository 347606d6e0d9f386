"""The credential the local sandbox accepts. Not a secret: the sandbox only listens on loopback.

The runtime's default connections carry it and the emulators accept it; production code reaches the
emulators only through those connections, never by importing them.
"""

LOCAL_API_TOKEN = "sandbox-token"

# The OAuth client and refresh token the sandbox's token endpoints accept (Amazon LWA, eBay, Google): the
# sandbox connections use the refresh-token grant a real deployment uses, against these.
LOCAL_CLIENT_ID = "sandbox-client-id"
LOCAL_CLIENT_SECRET = "sandbox-client-secret"
LOCAL_REFRESH_TOKEN = "sandbox-refresh-token"
