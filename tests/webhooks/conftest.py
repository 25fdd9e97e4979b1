"""Webhook fixtures: a receiver on a free loopback port over a store of its own."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from webhook_support import KEY

from xerolink.store.sqlite import SqliteStore
from xerolink.webhooks import ReceiverHandle, start_receiver


@dataclass
class Hook:
    handle: ReceiverHandle
    store: SqliteStore
    wake: threading.Event
    path: Path


@pytest.fixture
def hook(tmp_path) -> Iterator[Hook]:
    """A receiver over its own store file."""
    path = tmp_path / "receiver.db"
    store, wake = SqliteStore(path), threading.Event()
    handle = start_receiver("127.0.0.1", 0, KEY, store, wake)
    try:
        yield Hook(handle, store, wake, path)
    finally:
        handle.stop()
        store.close()
