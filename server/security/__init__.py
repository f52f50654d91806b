"""TLS credentials, the bearer token, and what a client may be told (no server paths)."""
