"""A command uses a running `local up` only if it is alive and serves the same state directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Response

from sagedrop_local.server import discovery


@pytest.fixture
def health_server():
    """A server answering the health check with whatever ``document`` holds."""
    document: dict = {}
    server = make_server("127.0.0.1", 0, lambda environ, start: Response(json.dumps(document))(environ, start))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", document
    server.shutdown()


def test_nothing_announced_means_no_server(tmp_path):
    assert discovery.find_running(tmp_path) is None


def test_a_live_server_for_this_state_directory_is_found(tmp_path, health_server):
    url, document = health_server
    document.update(url=url, state_dir=str(tmp_path))
    discovery.announce(tmp_path, url)
    assert discovery.find_running(tmp_path)["url"] == url


def test_a_server_for_another_state_directory_is_not_used(tmp_path, health_server):
    url, document = health_server
    document.update(url=url, state_dir=str(tmp_path / "elsewhere"))
    discovery.announce(tmp_path, url)
    assert discovery.find_running(tmp_path) is None


def test_the_file_of_a_process_that_is_gone_is_ignored(tmp_path, health_server):
    url, document = health_server
    document.update(url=url, state_dir=str(tmp_path))
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (tmp_path / discovery.DISCOVERY_FILE).write_text(json.dumps({"url": url, "pid": int(gone.stdout)}))
    assert discovery.find_running(tmp_path) is None


def test_nothing_listening_at_the_announced_url_means_no_server(tmp_path):
    discovery.announce(tmp_path, "http://127.0.0.1:9")  # the discard port: nothing answers there
    assert discovery.find_running(tmp_path) is None


def test_withdraw_removes_only_this_processs_announcement(tmp_path):
    (tmp_path / discovery.DISCOVERY_FILE).write_text(json.dumps({"url": "x", "pid": os.getpid() + 1}))
    discovery.withdraw(tmp_path)
    assert (tmp_path / discovery.DISCOVERY_FILE).exists()
    discovery.announce(tmp_path, "x")
    discovery.withdraw(tmp_path)
    assert not (tmp_path / discovery.DISCOVERY_FILE).exists()
