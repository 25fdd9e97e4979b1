"""The Python API takes the obvious forms of its arguments and refuses the rest with a
``UsageError`` naming the argument; a closed instance refuses every call."""

from __future__ import annotations

import inspect
import threading
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import xerolink
from support import crm_csv_from_sandbox
from xerolink.api import Xerolink
from xerolink.api.wiring import Wiring
from xerolink.errors import UsageError, XerolinkError

WRONG = [
    ("summary", (None,), {}, "ref must be text"),
    ("summary", (42,), {}, "ref must be text"),
    ("summary", ("contact:1",), {"refresh": "yes"}, "refresh must be True or False"),
    ("summary", ("contact:1",), {"refesh": True}, "unexpected keyword argument 'refesh'"),
    ("link", (1, 2), {}, "ref must be text"),
    ("link", ("contact:1", 2), {}, "xero_contact_id must be text"),
    ("crm_import", (42,), {}, "file must be a path"),
    ("crm_import", ("",), {}, "file must be a path"),
    ("deal_attach", ("deal:1", "INV-1"), {}, "document_ids must be a list of text"),
    ("grant", (["bob", 7],), {}, "users must hold only text"),
    ("details", ("contact:1",), {"kinds": "invoice"}, "kinds must be a list of text"),
    ("create_invoice", ("contact:1", "Consulting;1;100"), {}, "lines must be a list"),
    ("create_invoice", ("contact:1", [("Consulting", 1, 100)]), {}, "line 1 must be text or"),
    ("create_invoice", ("contact:1", ["Consulting;1;100"]), {"due_date": 20310131},
     "due_date must be text (str) or a date or None"),
    ("create_invoice", ("contact:1", [{"description": "Consulting", "quantity": 1.5,
                                       "unit_amount": 100}]), {}, "not 1.5"),
    ("create_invoice", ("contact:1", [{"descr": "Consulting", "unit_amount": 100}]), {},
     "unknown key 'descr'"),
    ("connect", ({"xero_url": "http://127.0.0.1:1"},), {}, "options must be a ConnectOptions"),
    ("create", ("contact:1", {"kind": "invoice"}), {}, "draft must be a Draft"),
]


@pytest.mark.parametrize(("method", "args", "kwargs", "message"), WRONG,
                         ids=[f"{m}-{i}" for i, (m, *_) in enumerate(WRONG)])
def test_wrong_types_are_refused_with_a_usage_error(connected, method, args, kwargs,
                                                    message) -> None:
    with xerolink.open() as xl:
        before = xl.calls().total
        with pytest.raises(UsageError) as refused:
            getattr(xl, method)(*args, **kwargs)
        assert xl.calls().total == before, "refused before any call to Xero"
    assert message in str(refused.value)


def _dummy(annotation: str) -> Any:
    """A value of the right type for an argument that is not the one under test."""
    from xerolink.services.connection import ConnectOptions
    from xerolink.services.create import Draft
    from xerolink.xero.endpoints import Endpoints

    return {"str": "contact:1", "bool": False, "Path": "x.csv", "list[str]": [],
            "tuple[str, ...]": (), "Lines": ["Consulting;1;100"],
            "Draft": Draft("invoice", []),
            "ConnectOptions": ConnectOptions(Endpoints.at(None), "client", "")}[annotation]


def _public_text_parameters() -> list[tuple[str, str]]:
    found = []
    for name, method in inspect.getmembers(Xerolink, inspect.isfunction):
        if name.startswith("_") or name in vars(Wiring):
            continue  # the composition root's plumbing is not a call of the API
        for parameter in inspect.signature(method).parameters.values():
            if parameter.annotation in ("str", "str | None"):
                found.append((name, parameter.name))
    return found


@pytest.mark.parametrize(("method", "parameter"), _public_text_parameters())
def test_every_text_argument_of_every_call_is_checked(home, method, parameter) -> None:
    """Not only the calls listed above: each public method, each text argument."""
    signature = inspect.signature(getattr(Xerolink, method))
    arguments: dict[str, Any] = {}
    for name, declared in list(signature.parameters.items())[1:]:
        if declared.kind in (declared.VAR_KEYWORD, declared.VAR_POSITIONAL):
            continue
        if name == parameter:
            arguments[name] = 42
        elif declared.default is declared.empty:
            arguments[name] = _dummy(declared.annotation)
    with xerolink.open() as xl, pytest.raises(UsageError, match=f"{parameter} must be"):
        getattr(xl, method)(**arguments)


def test_the_obvious_forms_are_taken(linked, tmp_path, sandbox) -> None:
    crm_csv_from_sandbox(sandbox, tmp_path / "more.csv", limit=5)
    with xerolink.open() as xl:
        imported = xl.crm_import(str(tmp_path / "more.csv"))  # a str path
        created = xl.create_invoice(linked, [
            {"description": "Consulting", "quantity": 3, "unit_amount": "150"},
            {"description": "Widgets", "quantity": Decimal("1000"), "unit_amount": "0.1648",
             "account_code": "200"},
            "Travel;1;20"], due_date=date(2031, 1, 31), reference="API dicts")
        attached = xl.details(linked, kinds=["invoice"], status="DRAFT")  # a list of kinds
    assert imported.imported == 5
    doc = created.to_json()
    row = next(row for row in attached.rows if row["document_id"] == doc["document_id"])
    assert doc["type"] == "invoice" and row["due_date"] == date(2031, 1, 31)
    assert row["total"] == Decimal("730.02")  # 450 + 164.80 + 20, and New Zealand's 15%


def test_a_closed_instance_refuses_every_call(connected) -> None:
    xl = xerolink.open()
    xl.links()
    xl.close()
    xl.close()  # closing again is harmless
    for call in (xl.links, lambda: xl.summary("contact:1"), lambda: xl._wiring.store,
                 xl.__enter__):
        with pytest.raises(UsageError, match="this Xerolink is closed"):
            call()


def test_close_waits_for_a_call_under_way_in_another_thread(connected) -> None:
    xl = xerolink.open()
    entered, release = threading.Event(), threading.Event()
    outcome: list[Any] = []

    def slow_progress(*_: Any) -> None:
        entered.set()
        release.wait(10)

    def work() -> None:
        try:
            outcome.append(xl.refresh_all(force=True, progress=slow_progress))
        except XerolinkError as exc:
            outcome.append(exc)

    worker = threading.Thread(target=work)
    worker.start()
    assert entered.wait(30)
    closer = threading.Thread(target=xl.close)
    closer.start()
    closer.join(0.2)
    assert closer.is_alive(), "close() waits for the call under way"
    release.set()
    worker.join(60)
    closer.join(10)
    assert not closer.is_alive() and type(outcome[0]).__name__ == "Refreshed"
    with pytest.raises(UsageError):
        xl.links()


def test_a_path_object_still_works(connected, tmp_path) -> None:
    (tmp_path / "crm.csv").write_text("id,first_name,last_name,email\n1,Ann,Lee,a@x.test\n")
    with xerolink.open() as xl:
        assert xl.crm_import(Path(tmp_path / "crm.csv")).imported == 1
