"""What build of evospikenet is running: version and git revision.

Read without running ``git``: the revision of a ``pip install git+URL``
install comes from its ``direct_url.json`` (PEP 610, ``vcs_info.commit_id``);
otherwise it is the one compiled into the extension by ``rust/python/build.rs``
(the checkout's ``HEAD`` when the extension was last built; in an editable
install the Python files may have changed since). Imports only ``_core``.
"""

from __future__ import annotations

import functools
import json
from importlib import metadata

from evospikenet._core import __git_revision__, __version__

__all__ = ["build_info", "git_revision"]


@functools.cache
def git_revision() -> str | None:
    """Return the git revision (40 hex digits) of this build, or None if unknown."""
    try:
        text = metadata.distribution("evospikenet").read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        text = None
    if text:
        try:
            commit = json.loads(text).get("vcs_info", {}).get("commit_id")
        except (ValueError, AttributeError):
            commit = None
        if isinstance(commit, str) and commit:
            return commit
    return __git_revision__ or None


def build_info() -> dict[str, str | None]:
    """Return ``{"version": ..., "git_revision": ...}`` of the running package."""
    return {"version": __version__, "git_revision": git_revision()}
