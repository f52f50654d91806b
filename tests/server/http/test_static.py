"""The explorer page's files (package ``vaeserve.web``) at /, and nothing else of the package."""

from __future__ import annotations

from importlib import resources

import pytest

from tests.http_calls import base_url, call


@pytest.fixture(scope="module")
def url(running_server) -> str:
    return base_url(running_server)


def page_files() -> list[str]:
    """Every file of the installed page, as a path under /."""
    found = []
    pending = [("", resources.files("vaeserve.web"))]
    while pending:
        prefix, folder = pending.pop()
        for entry in folder.iterdir():
            if entry.name.startswith(("_", ".")) or entry.name.endswith((".py", ".pyc")):
                continue
            if entry.is_dir():
                pending.append((f"{prefix}{entry.name}/", entry))
            else:
                found.append(prefix + entry.name)
    return sorted(found)


def test_the_root_is_the_packaged_index_html(url) -> None:
    index = resources.files("vaeserve.web") / "index.html"
    if not index.is_file():
        pytest.skip("the explorer page (clients/web/index.html) is not in this tree yet")
    answer = call(f"{url}/")
    assert answer.status == 200
    assert answer.content_type == "text/html"
    assert answer.body == index.read_bytes()


def test_every_page_file_is_served_as_packaged_with_its_type(url) -> None:
    types = {"js": "text/javascript", "css": "text/css", "html": "text/html"}
    for path in page_files():
        answer = call(f"{url}/{path}")
        assert answer.status == 200, path
        assert answer.body == (resources.files("vaeserve.web") / path).read_bytes()
        suffix = path.rpartition(".")[2]
        if suffix in types:
            assert answer.content_type == types[suffix], path
        assert answer.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    "path", ["/__init__.py", "/missing.js", "/.hidden", "/__pycache__/x.pyc", "/a/../__init__.py"]
)
def test_python_hidden_and_missing_files_are_404(url, path) -> None:
    answer = call(f"{url}{path}")
    assert answer.status == 404
    assert answer.json()["code"] == 5


def test_an_encoded_parent_path_cannot_leave_the_package(url) -> None:
    answer = call(f"{url}/%2e%2e/%2e%2e/server/app.py")
    assert answer.status == 404


def test_no_cors_header_is_sent_the_page_is_same_origin(url) -> None:
    answer = call(f"{url}/v1/models", headers={"Origin": "http://elsewhere.example"})
    assert "Access-Control-Allow-Origin" not in answer.headers
