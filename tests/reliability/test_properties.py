"""Property-based tests: parsers never crash on any input, and summary arithmetic
adds up exactly in Decimal."""

from __future__ import annotations

import contextlib
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xerolink.errors import UsageError
from xerolink.redact import MIN_SECRET_LENGTH, redact, register_secret
from xerolink.sandbox.where import WhereError, compile_where
from xerolink.services import summary
from xerolink.services.create import amount, parse_line
from xerolink.services.crm import Ref, _contact, _deal, _RowError, parse_ref
from xerolink.store.models import CachedDocument
from xerolink.validation import has_unsafe

SETTINGS = settings(max_examples=200, deadline=None)
ids = st.text(st.characters(min_codepoint=33, max_codepoint=0x2FFF), min_size=1,
              max_size=128).filter(lambda s: s == s.strip() and not has_unsafe(s))


@SETTINGS
@given(st.sampled_from(["contact", "company", "deal"]), ids)
def test_references_round_trip(kind, ident) -> None:
    assert parse_ref(f"{kind}:{ident}") == Ref(kind, ident)


@SETTINGS
@given(st.text(min_size=1, max_size=20), st.sampled_from(["\x7f", "\x9b", "\u202e",
                                                          "\u2066", "\x1b"]))
def test_an_id_with_a_control_or_bidi_character_is_refused(text, bad) -> None:
    with pytest.raises(UsageError):
        parse_ref(f"contact:{text[:5]}{bad}{text[5:]}x")


@SETTINGS
@given(st.text(max_size=200))
def test_any_reference_text_parses_or_is_a_usage_error(text) -> None:
    try:
        ref = parse_ref(text)
    except UsageError:
        return
    assert ref.kind in ("contact", "company", "deal") and ref.id


@SETTINGS
@given(st.decimals(min_value=Decimal("-999999999999.9999"),
                   max_value=Decimal("999999999999.9999"), places=4, allow_nan=False))
def test_amounts_keep_their_exact_value(value) -> None:
    assert amount(str(value), "x") == value


@SETTINGS
@given(st.one_of(st.floats(), st.text(max_size=40), st.just("NaN"), st.just("-inf"),
                 st.just("1e309"), st.just("1.00001")))
def test_any_amount_text_is_a_decimal_or_a_usage_error(value) -> None:
    try:
        result = amount(value, "x")
    except UsageError:
        return
    assert isinstance(result, Decimal) and result.is_finite()
    assert result.as_tuple().exponent >= -4 and abs(result) < Decimal("1e12")


@SETTINGS
@given(st.text(max_size=120))
def test_any_line_spec_is_a_line_or_a_usage_error(spec) -> None:
    try:
        line = parse_line(spec, 1)
    except UsageError:
        return
    assert line.description and line.quantity > 0


@SETTINGS
@given(st.dictionaries(st.sampled_from(["id", "first_name", "last_name", "email", "phone",
                                        "company_id", "title", "value", "currency",
                                        "participant_ids"]),
                       st.one_of(st.text(max_size=60), st.integers(), st.floats(), st.none(),
                                 st.lists(st.text(max_size=5), max_size=3), st.booleans())))
def test_any_crm_record_builds_or_is_a_row_error(record) -> None:
    for build in (_contact, _deal):
        try:
            built = build(record)
        except _RowError:
            continue
        assert built.id


@SETTINGS
@given(st.text(max_size=80))
def test_any_where_clause_compiles_or_is_refused(text) -> None:
    def resolve(record, path):
        return record.get(path[0])

    try:
        predicate = compile_where(text, resolve)
    except WhereError:
        return
    with contextlib.suppress(WhereError):
        predicate({"Name": "Acme", "Total": Decimal("10")})


@SETTINGS
@given(st.text(min_size=MIN_SECRET_LENGTH, max_size=40,
               alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_"),
       st.text(max_size=40), st.text(max_size=40))
def test_a_registered_secret_never_survives_redaction(secret, before, after) -> None:
    register_secret(secret)
    assert secret not in redact(f"{before}{secret}{after}")


def documents_strategy():
    amounts = st.decimals(min_value=Decimal("0"), max_value=Decimal("99999999"), places=2,
                          allow_nan=False)
    rates = st.decimals(min_value=Decimal("0.05"), max_value=Decimal("20"), places=6,
                        allow_nan=False).filter(lambda r: r > 0)
    document = st.builds(
        lambda kind, status, currency, rate, total, due_part, days: CachedDocument(
            document_id="x", kind=kind, xero_contact_id="c", number="1", reference="",
            status=status, issue_date=date(2026, 1, 1),
            due_date=date(2026, 11, 26) + timedelta(days=days), currency=currency,
            currency_rate=Decimal("1") if currency == "NZD" else rate, total=total,
            amount_due=min(total, due_part), updated_utc=None,
            fetched_at=datetime(2026, 11, 26, tzinfo=UTC)),
        st.sampled_from(["quote", "invoice", "bill"]),
        st.sampled_from(["DRAFT", "SENT", "SUBMITTED", "AUTHORISED", "PAID", "VOIDED"]),
        st.sampled_from(["NZD", "USD", "EUR"]), rates, amounts, amounts,
        st.integers(min_value=-60, max_value=60))
    return st.lists(document, max_size=30)


@SETTINGS
@given(documents_strategy())
def test_summary_parts_add_up_to_totals_exactly(documents) -> None:
    today = date(2026, 11, 26)
    figures = summary.figures(documents, today)
    for figure in figures.values():
        assert isinstance(figure.total, Decimal)
        assert all(isinstance(v, Decimal) for v in figure.by_currency.values())
        assert sum(figure.by_currency.values(), Decimal("0")) >= 0
    for kind in ("invoices", "bills"):
        overdue, outstanding = figures[f"overdue_{kind}"], figures[f"outstanding_{kind}"]
        assert overdue.count <= outstanding.count and overdue.total <= outstanding.total
        for currency, value in overdue.by_currency.items():
            assert value <= outstanding.by_currency[currency]
    outstanding = [d for d in documents if d.kind == "invoice" and d.status == "AUTHORISED"
                   and d.amount_due > 0]
    assert figures["outstanding_invoices"].total == sum(
        (summary.to_base(d.amount_due, d.currency_rate) for d in outstanding), Decimal("0"))
    base_only = [d for d in outstanding if d.currency == "NZD"]
    assert figures["outstanding_invoices"].by_currency.get("NZD", Decimal("0")) == sum(
        (d.amount_due for d in base_only), Decimal("0"))


@SETTINGS
@given(st.decimals(min_value=Decimal("0"), max_value=Decimal("1e10"), places=2,
                   allow_nan=False))
def test_converting_at_rate_one_is_exact(value) -> None:
    assert summary.to_base(value, Decimal("1")) == value


def test_a_zero_rate_is_refused_not_divided_by() -> None:
    with pytest.raises(ValueError):
        summary.to_base(Decimal("1"), Decimal("0"))
