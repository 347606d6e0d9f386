"""The credentials of the local runtime. Not secrets: the sandbox and the local Airflow UI listen only on loopback.

The runtime's default connections carry the sandbox token and the emulators accept it; production code reaches the
emulators only through those connections, never by importing them. The UI login is the one the README states.
"""

LOCAL_API_TOKEN = "sandbox-token"
LOCAL_UI_USER = "admin"
LOCAL_UI_PASSWORD = "admin"

# The OAuth client and refresh token the sandbox's token endpoints accept (Amazon LWA, eBay, Google): the
# sandbox connections use the refresh-token grant a real deployment uses, against these.
LOCAL_CLIENT_ID = "sandbox-client-id"
LOCAL_CLIENT_SECRET = "sandbox-client-secret"
LOCAL_REFRESH_TOKEN = "sandbox-refresh-token"
