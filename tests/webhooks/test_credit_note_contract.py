"""The sandbox's credit notes (made for webhook tests) answer in Xero's official shape:
validated against the OpenAPI spec and read by xero-python without losing a field."""

from __future__ import annotations

import json
from decimal import Decimal

from contract import test_openapi_contract as contract
from contract.test_openapi_contract import Case, _lost_fields, _model_finder, _validate
from support import api, control, request, sandbox_token

pytestmark = contract.pytestmark  # skipped, as the contract tests are, without the spec


def test_credit_notes_match_the_official_spec(sandbox):
    from xero_python.api_client.deserializer import deserialize

    spec = contract._load("xero_accounting.yaml")  # parsed once for the contract modules
    server = sandbox  # the worker's shared sandbox, as new
    base = server.base_url
    tenant = next(iter(server.sandbox.tenants))
    invoice = next(i for i in server.sandbox.tenants[tenant].invoices.values()
                   if i["Status"] == "AUTHORISED")
    note = control(base, "POST", "credit", {"tenant": tenant,
                                            "invoice_id": invoice["InvoiceID"],
                                            "amount": "5.00"})
    token = sandbox_token(base, tenants=[tenant])
    for operation, path in (("getCreditNote", f"/CreditNotes/{note['credit_note_id']}"),
                            ("getCreditNotes", "/CreditNotes")):
        status, headers, body = request(base, "GET", f"/api.xro/2.0{path}", headers={
            "Authorization": f"Bearer {token['access_token']}",
            "xero-tenant-id": tenant, "Accept": "application/json"})
        assert status == 200, body
        data = json.loads(body, parse_float=Decimal)
        _validate(spec, Case(operation, "GET", path, "CreditNotes"), status, body,
                  headers.get("content-type", ""), f"/api.xro/2.0{path}")
        model = deserialize("CreditNotes", json.loads(body, parse_float=Decimal),
                            _model_finder(False))
        assert not _lost_fields(data, model), operation
        # The seeded credit notes are listed too: the one made here is read by id.
        [read] = [n for n in model.credit_notes
                  if n.credit_note_id == note["credit_note_id"]]
        assert read.allocations[0].invoice.invoice_id == invoice["InvoiceID"]
        assert Decimal(str(read.allocations[0].amount)) == Decimal("5.00")
    status, _, _ = api(base, token, tenant, "GET",
                       "/CreditNotes/00000000-0000-0000-0000-000000000000")
    assert status == 404
