"""The Python API is safe to hold: nothing reachable from ``xerolink.open()`` shows a
secret in its repr, str or attributes."""

from __future__ import annotations

import contextlib
import types
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

import xerolink
from support import control
from xerolink.redact import Secret

_LEAVES = (int, float, bool, bytes, type(None), complex)


def _children(obj: Any) -> Iterator[Any]:
    if isinstance(obj, Mapping | list | tuple | set | frozenset):
        try:
            items = list(obj.items()) if isinstance(obj, Mapping) else list(obj)
        except Exception:
            items = []
        for item in items:
            yield from (item if isinstance(obj, Mapping) else (item,))
    if isinstance(obj, types.FunctionType):
        for cell in obj.__closure__ or ():
            try:
                yield cell.cell_contents
            except ValueError:
                continue
        return
    with contextlib.suppress(TypeError):  # no __dict__
        yield from vars(obj).values()
    for name in getattr(type(obj), "__slots__", ()):
        if hasattr(obj, name):
            yield getattr(obj, name)


def walk(root: Any, limit: int = 200_000) -> Iterator[tuple[str, Any]]:
    """Every object reachable from root through attributes, items and closures."""
    seen: set[int] = set()
    stack: list[tuple[str, Any]] = [("root", root)]
    while stack and len(seen) < limit:
        path, obj = stack.pop()
        if id(obj) in seen or isinstance(obj, types.ModuleType | type):
            continue
        seen.add(id(obj))
        yield path, obj
        if isinstance(obj, (str, Secret, *_LEAVES)):
            continue  # a Secret is where the walk stops: its value is its own business
        for index, child in enumerate(_children(obj)):
            stack.append((f"{path}/{type(obj).__name__}[{index}]", child))


def leaks(root: Any, secrets: set[str]) -> list[str]:
    found = []
    for path, obj in walk(root):
        shown = obj if isinstance(obj, str) else f"{obj!r} {obj!s}"
        found += [f"{path}: {type(obj).__name__}" for s in secrets if s in shown]
    return found


@pytest.fixture
def crm_sandbox(shared_sandboxes) -> Any:
    return shared_sandboxes.get(crm="salesmate")


def test_nothing_reachable_from_xerolink_open_shows_a_secret(crm_sandbox, home, monkeypatch
                                                              ) -> None:
    base = crm_sandbox.base_url
    custom = control(base, "GET", "apps")["custom_connection"]
    salesmate = control(base, "GET", "salesmate")["access_token"]
    monkeypatch.setenv("XEROLINK_TOKEN_STORE", "file")
    monkeypatch.setenv("XEROLINK_CLIENT_SECRET", custom["client_secret"])
    monkeypatch.setenv("XEROLINK_SALESMATE_TOKEN", salesmate)
    returned: list[Any] = []
    with xerolink.open() as xl:
        options = xl.connect_options(xero_url=base, client_id=custom["client_id"])
        returned.append(xl.connect(options, client_secret=custom["client_secret"]))
        returned.append(xl.crm_connect("salesmate", linkname="demo", token=salesmate,
                                       url=base))
        returned.append(xl.crm_pull())
        returned.append(xl.status())
        returned.append(xl._crm.crm_source())
        linked = xl.auto_link()
        assert linked.linked, "the slice's people are the organisation's"
        returned += [linked, xl.summary(linked.linked[0]["crm"], refresh=True), xl.calls()]
        identity = crm_sandbox.sandbox.identity
        secrets = {custom["client_secret"], salesmate, *identity.access_tokens,
                   *identity.refresh_tokens}
        assert len(secrets) >= 3  # a client secret, its access token, Salesmate
        for root in (xl, returned):
            found = leaks(root, secrets)
            assert not found, "\n".join(found)
        assert xl.calls().total >= 1
