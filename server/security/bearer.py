"""The bearer token every call but health must carry, checked the same way on every front.

The token is compared in constant time (both sides hashed first, so not even its length
leaks through timing). A front hands :meth:`BearerToken.check` the value of the caller's
``authorization`` header or metadata and lets the :class:`UnauthenticatedError` it raises
become its protocol's UNAUTHENTICATED.
"""

from __future__ import annotations

import hashlib
import hmac

from vaeserve.server.errors import UnauthenticatedError

MISSING = (
    "this server needs a bearer token: send 'authorization: Bearer <token>' as gRPC metadata "
    "or an HTTP header "
    "(vaeserve-client --token, or ClientOptions(token=...))"
)
MALFORMED = "the authorization metadata or header must read 'Bearer <token>'"
REFUSED = "the bearer token was not accepted; check the token this server was given"


class BearerToken:
    """The one token this server accepts."""

    def __init__(self, token: str) -> None:
        self._expected = _digest(token)

    def check(self, authorization: str | None) -> None:
        """Raise :class:`UnauthenticatedError` unless ``authorization`` is 'Bearer <token>'."""
        if authorization is None:
            raise UnauthenticatedError(MISSING)
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise UnauthenticatedError(MALFORMED)
        if not hmac.compare_digest(_digest(token.strip()), self._expected):
            raise UnauthenticatedError(REFUSED)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()
