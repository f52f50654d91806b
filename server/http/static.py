"""The explorer page: the files of ``clients/web`` (the ``vaeserve.web`` package) at ``/``.

``GET /`` is ``index.html``; ``GET /<path>`` any other file of the package but its Python
(``__init__.py`` exists only to make the folder package data). The files ship in the wheel
and never change while the server runs, so each is read once and kept. The page calls the
API on the same origin, so no CORS header is sent; it loads nothing from the network.
The page is public (it holds no data): it asks the person for the token, if any, and sends
it with each API call.
"""

from __future__ import annotations

import mimetypes
from importlib import resources
from importlib.resources.abc import Traversable

from aiohttp import web

from vaeserve.server.errors import NotFoundError, shown
from vaeserve.server.http.status import refusal

WEB_PACKAGE = "vaeserve.web"
INDEX = "index.html"
# Any path but the API's and the probes': those answer 404 themselves when unknown.
FILE_ROUTE = r"/{path:(?!v1/|v1$)[^{}]+}"
_TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css"}
_HIDDEN_SUFFIXES = (".py", ".pyc")


class StaticFiles:
    """Serves the page's files from the installed package, read once each."""

    def __init__(self, package: str = WEB_PACKAGE) -> None:
        self._package = package
        self._cache: dict[str, tuple[bytes, str]] = {}

    def add_to(self, app: web.Application) -> None:
        app.router.add_get("/", self._index)
        app.router.add_get(FILE_ROUTE, self._file)

    async def _index(self, request: web.Request) -> web.Response:
        return self._serve(INDEX)

    async def _file(self, request: web.Request) -> web.Response:
        return self._serve(request.match_info["path"])

    def _serve(self, path: str) -> web.Response:
        found = self._cache.get(path)
        if found is None:
            file = self._find(path)
            if file is None:
                return refusal(NotFoundError(f"no file or route {shown('/' + path)}"))
            found = self._cache[path] = (file.read_bytes(), _content_type(path))
        body, content_type = found
        textual = content_type.startswith("text/") or content_type.endswith(("json", "xml"))
        return web.Response(
            body=body,
            content_type=content_type,
            charset="utf-8" if textual else None,
            headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
        )

    def _find(self, path: str) -> Traversable | None:
        parts = path.split("/")
        if any(not part or part.startswith((".", "_")) for part in parts):
            return None  # no dotfiles, no "..", no __pycache__ or __init__.py
        if path.endswith(_HIDDEN_SUFFIXES):
            return None
        try:
            file = resources.files(self._package)
        except ModuleNotFoundError:
            return None
        for part in parts:
            file = file / part
        return file if file.is_file() else None


def _content_type(path: str) -> str:
    suffix = path[path.rfind(".") :] if "." in path else ""
    return _TYPES.get(suffix) or mimetypes.guess_type(path)[0] or "application/octet-stream"
