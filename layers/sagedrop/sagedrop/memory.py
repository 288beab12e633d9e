"""Giving freed heap memory back to the OS.

glibc keeps memory a process has freed for its next allocations, so after a large piece of work the
process's RSS stays at its peak. ``malloc_trim(0)`` returns what is free. Elsewhere (another C
library), nothing is done.
"""

from __future__ import annotations

import ctypes

try:
    _MALLOC_TRIM = ctypes.CDLL("libc.so.6").malloc_trim
except (OSError, AttributeError):  # another C library: nothing to do
    _MALLOC_TRIM = None


def release_memory() -> None:
    """Return the heap memory freed so far to the OS (the streamed preparation: 447 -> 381 MB at 2 GB)."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)
