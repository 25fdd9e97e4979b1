"""Every operation the sandbox implements answers in Xero's official shape.

Each case makes a real request to a sandbox, validates the response against the
official OpenAPI spec (``XEROLINK_OPENAPI_DIR``), then deserialises it with
xero-python's models and checks that no field the spec defines is lost on the way.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from support import request, sandbox_token
from xerolink.sandbox import SandboxOptions, SandboxServer

SPEC_DIR = os.environ.get("XEROLINK_OPENAPI_DIR")
pytestmark = pytest.mark.skipif(
    not SPEC_DIR or not Path(SPEC_DIR, "xero_accounting.yaml").exists(),
    reason="XEROLINK_OPENAPI_DIR is not set to the folder holding Xero's OpenAPI spec",
)

# Fields real Xero sends beyond what the Invoice schema lists (documented by Xero).
XERO_EXTRAS = {"DateString", "DueDateString"}
ENVELOPE = {"Id", "Status", "ProviderName", "DateTimeUTC"}


@dataclass
class Case:
    operation: str
    method: str
    path: str
    model: str  # xero-python response model
    status: int = 200
    body: Any = None
    identity: bool = False


@functools.cache
def _load(name: str) -> Any:
    """A spec, parsed once per worker: the contract modules and the credit-note test
    share it, and validation reads it and never changes it. The YAML's parse (half a
    second) is kept as JSON in the suite's own folder (``tiers.keep``),
    under a digest of the YAML and the versions of the parsers that read it, so a
    changed spec or parser is parsed again; this is what ``OpenAPI.from_file_path``
    reads."""
    import hashlib
    from importlib.metadata import version

    import yaml
    from jsonschema_path.loaders import JsonschemaSafeLoader
    from openapi_core import Config, OpenAPI

    import tiers

    path = Path(SPEC_DIR or "", name).resolve()
    text = path.read_bytes()
    digest = hashlib.sha256(text)
    digest.update(f"{yaml.__version__} {version('jsonschema-path')}".encode())
    name = f"openapi-{digest.hexdigest()[:32]}.json"
    data = tiers.kept(name)
    if data is None:
        data = json.loads(json.dumps(yaml.load(text, JsonschemaSafeLoader)))  # noqa: S506
        tiers.keep(name, data)
    return OpenAPI.from_dict(data, config=Config(spec_validator_cls=None),
                             base_uri=path.as_uri())


@pytest.fixture(scope="module")
def specs() -> dict[str, Any]:
    return {"accounting": _load("xero_accounting.yaml"), "identity": _load("xero-identity.yaml")}


@pytest.fixture(scope="module")
def world() -> Iterator[dict[str, Any]]:
    # Both organisations in one consent (an Advanced-tier app): the connection cases
    # need a second connection.
    server = SandboxServer(SandboxOptions(seed=3, contacts=40, bulk_connections=True))
    base = server.start()
    token = sandbox_token(base)
    tenant = next(iter(server.sandbox.tenants))
    books = server.sandbox.tenants[tenant]
    contact = next(c for c in books.contacts.values() if c["ContactStatus"] == "ACTIVE"
                   and books.invoices_by_contact[c["ContactID"]]
                   and books.quotes_by_contact[c["ContactID"]])
    draft_invoice = next(i["InvoiceID"] for i in books.invoices.values()
                         if i["Status"] == "DRAFT" and i["DueDate"])
    draft_quote = next(q["QuoteID"] for q in books.quotes.values() if q["Status"] == "DRAFT")
    _, _, listed = request(base, "GET", "/Connections",
                           headers={"Authorization": f"Bearer {token['access_token']}"})
    second = next(c["id"] for c in json.loads(listed) if c["tenantId"] != tenant)
    yield {"server": server, "base": base, "token": token, "tenant": tenant,
           "draft_invoice": draft_invoice, "draft_quote": draft_quote,
           "second_connection": second,
           "contact": contact["ContactID"],
           "invoice": books.invoices_by_contact[contact["ContactID"]][0],
           "quote": books.quotes_by_contact[contact["ContactID"]][0]}
    server.stop()


def _line() -> dict[str, Any]:
    return {"Description": "Contract check", "Quantity": 2, "UnitAmount": 12.5,
            "AccountCode": "200"}


def cases(w: dict[str, Any]) -> list[Case]:
    c, today = w["contact"], date.today().isoformat()
    invoice = {"Type": "ACCREC", "Contact": {"ContactID": c}, "Date": today, "DueDate": today,
               "LineItems": [_line()]}
    quote = {"Contact": {"ContactID": c}, "Date": today, "LineItems": [_line()]}
    return [
        Case("getOrganisations", "GET", "/Organisation", "Organisations"),
        Case("getCurrencies", "GET", "/Currencies", "Currencies"),
        Case("getContacts", "GET", "/Contacts?page=1&pageSize=1000&includeArchived=true",
             "Contacts"),
        Case("getContacts summaryOnly", "GET", "/Contacts?summaryOnly=true&searchTerm=a",
             "Contacts"),
        Case("getContact", "GET", f"/Contacts/{c}", "Contacts"),
        Case("createContacts", "PUT", "/Contacts", "Contacts",
             body={"Contacts": [{"Name": "Contract Check Ltd", "EmailAddress": "cc@example.com",
                                 "ContactPersons": [{"FirstName": "A", "LastName": "B",
                                                     "EmailAddress": "ab@example.com"}]}]}),
        Case("createContacts 400", "PUT", "/Contacts", "Error", status=400,
             body={"Contacts": [{"Name": ""}]}),
        Case("updateOrCreateContacts", "POST", "/Contacts", "Contacts",
             body={"Contacts": [{"Name": "Contract Check Two"}]}),
        Case("updateContact", "POST", f"/Contacts/{c}", "Contacts",
             body={"Contacts": [{"ContactID": c, "FirstName": "Renamed"}]}),
        Case("getInvoices", "GET", f"/Invoices?ContactIDs={c}&page=1&pageSize=1000",
             "Invoices"),
        Case("getInvoices summaryOnly", "GET",
             f"/Invoices?ContactIDs={c}&Statuses=AUTHORISED,DRAFT,PAID&summaryOnly=true"
             "&page=1&pageSize=1000", "Invoices"),
        Case("getInvoice", "GET", f"/Invoices/{w['invoice']}", "Invoices"),
        Case("createInvoices", "PUT", "/Invoices", "Invoices", body={"Invoices": [invoice]}),
        Case("createInvoices 400", "PUT", "/Invoices", "Error", status=400,
             body={"Invoices": [{**invoice, "LineItems": [{**_line(), "AccountCode": "999"}],
                                 "Status": "AUTHORISED"}]}),
        Case("updateOrCreateInvoices", "POST", "/Invoices", "Invoices",
             body={"Invoices": [{**invoice, "Type": "ACCPAY",
                                 "LineItems": [{**_line(), "AccountCode": "429"}]}]}),
        Case("getQuotes", "GET", f"/Quotes?ContactID={c}", "Quotes"),
        Case("getQuotes paged", "GET", "/Quotes?page=1&Status=SENT", "Quotes"),
        Case("getQuote", "GET", f"/Quotes/{w['quote']}", "Quotes"),
        Case("createQuotes", "PUT", "/Quotes", "Quotes", body={"Quotes": [quote]}),
        Case("createQuotes 400", "PUT", "/Quotes", "Error", status=400,
             body={"Quotes": [{"Contact": {"ContactID": c}}]}),
        Case("updateOrCreateQuotes", "POST", "/Quotes", "Quotes",
             body={"Quotes": [{**quote, "Title": "Contract"}]}),
        Case("updateInvoice", "POST", f"/Invoices/{w['draft_invoice']}", "Invoices",
             body={"Invoices": [{"Reference": "contract", "Status": "AUTHORISED"}]}),
        Case("updateQuote", "POST", f"/Quotes/{w['draft_quote']}", "Quotes",
             body={"Quotes": [{"Status": "SENT"}]}),
        Case("getConnections", "GET", "/Connections", "list[Connection]", identity=True),
        Case("deleteConnection", "DELETE", f"/Connections/{w['second_connection']}", "",
             status=204, identity=True),
    ]


def _validate(spec: Any, case: Case, status: int, body: bytes, content_type: str,
              host_path: str) -> None:
    from openapi_core.testing import MockRequest, MockResponse

    req = MockRequest("https://api.xero.com", case.method.lower(), host_path.split("?")[0])
    res = MockResponse(body, status_code=status, content_type=content_type.split(";")[0])
    spec.validate_response(req, res)


def _model_finder(identity: bool) -> Any:
    import importlib

    from xero_python.api_client import ModelFinder

    module = "xero_python.identity.models" if identity else "xero_python.accounting.models"
    return ModelFinder(importlib.import_module(module))


def _lost_fields(data: Any, model: Any, where: str = "") -> list[str]:
    """JSON keys that the deserialised model did not keep (recursively)."""
    lost: list[str] = []
    if isinstance(data, list) and isinstance(model, list):
        for i, (d, m) in enumerate(zip(data, model, strict=True)):
            lost += _lost_fields(d, m, f"{where}[{i}]")
        return lost
    if isinstance(data, dict) and hasattr(model, "attribute_map"):
        by_json = {v: k for k, v in model.attribute_map.items()}
        for key, value in data.items():
            if key in ENVELOPE or key in XERO_EXTRAS:
                continue
            attr = by_json.get(key)
            if attr is None:
                lost.append(f"{where}.{key}")
                continue
            kept = getattr(model, attr)
            if kept is None and value not in (None, [], {}):
                lost.append(f"{where}.{key}")
            else:
                lost += _lost_fields(value, kept, f"{where}.{key}")
    return lost


def _same_value(data: Any, model: Any) -> None:
    """Spot-check that amounts survive deserialisation exactly."""
    if isinstance(data, dict) and hasattr(model, "attribute_map"):
        by_json = {v: k for k, v in model.attribute_map.items()}
        for key in ("Total", "AmountDue", "CurrencyRate", "SubTotal"):
            if key in data and key in by_json:
                assert Decimal(str(getattr(model, by_json[key]))) == Decimal(str(data[key]))


def test_every_implemented_operation_matches_the_official_spec(specs, world) -> None:
    from xero_python.api_client.deserializer import deserialize

    validated: list[str] = []
    for case in cases(world):
        if case.identity:
            status, headers, body = request(world["base"], case.method, case.path, headers={
                "Authorization": f"Bearer {world['token']['access_token']}"})
            host_path = case.path
        else:
            status, headers, body = _raw(world, case)
            host_path = f"/api.xro/2.0{case.path}"
        assert status == case.status, (case.operation, status, body[:300])
        spec = specs["identity" if case.identity else "accounting"]
        _validate(spec, case, status, body, headers.get("content-type", ""), host_path)
        if not body:
            validated.append(case.operation)
            continue
        data = json.loads(body, parse_float=Decimal)
        model = deserialize(case.model, data, _model_finder(case.identity))
        lost = _lost_fields(data, model)
        assert not lost, f"{case.operation}: xero-python dropped {lost[:5]}"
        for key in ("Invoices", "Quotes"):
            for raw_item, model_item in zip(data.get(key, []) if isinstance(data, dict)
                                            else [], getattr(model, key.lower(), None) or [],
                                            strict=False):
                _same_value(raw_item, model_item)
        validated.append(case.operation)
    print(f"\nvalidated {len(validated)} sandbox operations against Xero's OpenAPI spec: "
          + ", ".join(validated))
    assert len(validated) == len(cases(world))


def _raw(world: dict[str, Any], case: Case) -> tuple[int, dict[str, str], bytes]:
    headers = {"Authorization": f"Bearer {world['token']['access_token']}",
               "xero-tenant-id": world["tenant"], "Accept": "application/json"}
    body = None
    if case.body is not None:
        body = json.dumps(case.body).encode()
        headers["Content-Type"] = "application/json"
    return request(world["base"], case.method, f"/api.xro/2.0{case.path}", body=body,
                   headers=headers)

