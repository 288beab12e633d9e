"""Unpacking ``model.tar.gz`` safely on every Python 3.11.

``TarFile.extractall(filter=...)`` and ``tarfile.data_filter`` arrived in 3.11.4; 3.11.0–3.11.3
reject the keyword with a TypeError. So the members are checked here first on every version
(regular files and directories only, relative paths that stay inside the destination), and the
``data`` filter is applied on top where it exists.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path, PurePosixPath


class UnsafeArchive(Exception):
    """The archive holds a member that could write outside the model directory, or not a plain file."""


def check_members(tar: tarfile.TarFile) -> list[tarfile.TarInfo]:
    """The archive's members, when every one is a plain file or directory with a safe relative path."""
    members = tar.getmembers()
    for member in members:
        path = PurePosixPath(member.name)
        if path.is_absolute():
            raise UnsafeArchive(f"member {member.name!r} has an absolute path")
        if ".." in path.parts or "\\" in member.name:
            raise UnsafeArchive(f"member {member.name!r} points outside the model directory")
        if not (member.isfile() or member.isdir()):
            raise UnsafeArchive(f"member {member.name!r} is a link or a special file")
    return members


def extract_model(archive: bytes, destination: Path) -> None:
    """Extract a gzipped tar into ``destination``; raises UnsafeArchive or tarfile/OS errors."""
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        members = check_members(tar)
        if hasattr(tarfile, "data_filter"):
            tar.extractall(destination, members=members, filter="data")
        else:
            tar.extractall(destination, members=members)  # members checked above
