"""Shared by the peer runners: write their spike arrays as ``.npz`` atomically."""

import os
from pathlib import Path

import numpy as np


def save_npz(path, compressed=False, **arrays):
    """Write ``arrays`` to ``path`` (``.npz``) through a temporary file beside it.

    The temporary file is created exclusively (so the user's umask applies)
    and renamed over ``path`` only once it is complete: a killed runner leaves
    no truncated archive under the name a caller reads.
    """
    path = Path(path)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("xb") as fh:
            (np.savez_compressed if compressed else np.savez)(fh, **arrays)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
