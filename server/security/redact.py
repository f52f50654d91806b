"""Text bound for clients, with the server's filesystem paths taken out.

Why a model version was refused is worth telling a client ("decoder.onnx does not match its
SHA-256"), but the reasons come from code that names files by absolute path, and where the
server keeps its files is no business of a caller: it maps the host for an attacker. The
log and the operator keep the full text; clients get paths relative to the model
repository, and any other absolute path cut down to its file name.
"""

from __future__ import annotations

import re
from pathlib import Path

# Two or more "/name" steps not inside a word: /srv/models/x/1/decoder.onnx, /tmp/x.
_ABSOLUTE_PATH = re.compile(r"(?<![\w.~:/-])(?:/[^\s/'\"`:,;()\[\]{}]+){2,}/?")


def without_paths(text: str, repository: Path) -> str:
    """``text`` with ``repository`` (as given and resolved) and other absolute paths removed."""
    for root in {str(repository), str(repository.resolve())}:
        text = text.replace(root.rstrip("/") + "/", "")
    return _ABSOLUTE_PATH.sub(lambda match: Path(match.group(0)).name, text)
