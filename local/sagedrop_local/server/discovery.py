"""How a command finds a ``sagedrop local up`` serving its state directory, and talks to it.

``local up`` writes ``<state dir>/local-up.json`` (URL and pid) once it listens and removes it when
it stops. A command trusts the file only if that process is alive and the URL answers the health
check for the same state directory, so a crashed server's file is ignored.
"""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

HEALTH_PATH = "/_sagedrop/health"  # bucket names cannot start with "_", so S3 never needs this path
DISCOVERY_FILE = "local-up.json"
# moto accepts any credentials; real clients refuse to sign without some.
LOCAL_CREDENTIALS = {"aws_access_key_id": "sagedrop-local", "aws_secret_access_key": "sagedrop-local"}


def announce(state_dir: Path, url: str) -> Path:
    path = Path(state_dir) / DISCOVERY_FILE
    path.write_text(json.dumps({"url": url, "pid": os.getpid()}))
    return path


def withdraw(state_dir: Path) -> None:
    path = Path(state_dir) / DISCOVERY_FILE
    try:
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def health(url: str, timeout: float = 2.0) -> dict[str, Any]:
    with urllib.request.urlopen(url + HEALTH_PATH, timeout=timeout) as response:  # noqa: S310 - our own URL
        return json.loads(response.read())


def find_running(state_dir: Path) -> dict[str, Any] | None:
    """The health document of the ``local up`` serving ``state_dir``, or None when none is."""
    try:
        announced = json.loads((Path(state_dir) / DISCOVERY_FILE).read_text())
        if not _alive(int(announced["pid"])):
            return None
        document = health(announced["url"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if Path(document.get("state_dir", "")).resolve() != Path(state_dir).resolve():
        return None
    return document


def session(region: str) -> boto3.Session:
    return boto3.Session(region_name=region, **LOCAL_CREDENTIALS)


def client(session: boto3.Session, service: str, url: str) -> Any:
    # Training and evaluation calls can take a while; the server answers every call itself.
    return session.client(service, endpoint_url=url, config=Config(retries={"max_attempts": 2}, read_timeout=120))
