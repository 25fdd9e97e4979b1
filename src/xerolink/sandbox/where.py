"""The subset of Xero's ``where`` filter language that clients commonly send.

``Name=="Acme"``, ``Contact.ContactID==Guid("…")``, ``EmailAddress.Contains("@x.com")``,
``Name.ToLower()=="acme"``, ``Date>=DateTime(2026,1,1)``, ``AmountDue>0``, joined by
``AND``/``OR``/``&&``/``||``, ``NOT``, and parentheses. String comparisons ignore case,
as Xero's do. Anything else raises ``WhereError`` (the sandbox answers 400).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any


class WhereError(ValueError):
    pass


_TOKEN = re.compile(
    r'\s*(?:(?P<string>"(?:[^"\\]|\\.)*")|(?P<number>-?\d+(?:\.\d+)?)|'
    r"(?P<op>==|!=|>=|<=|&&|\|\||[<>!(),.])|(?P<ident>[A-Za-z_][A-Za-z0-9_]*))"
)

Resolver = Callable[[Any, list[str]], Any]
Predicate = Callable[[Any], bool]


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise WhereError(f"cannot parse the where clause near {text[pos:pos + 20]!r}")
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind == "ident" and value.upper() in ("AND", "OR", "NOT"):
            kind, value = "op", {"AND": "&&", "OR": "||", "NOT": "!"}[value.upper()]
        out.append((kind, value))
        pos = match.end()
    return out


def _fold(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _compare(left: Any, op: str, right: Any) -> bool:
    if isinstance(left, datetime) and isinstance(right, date) and not isinstance(right, datetime):
        left = left.date()
    if isinstance(left, int | float) and not isinstance(left, bool):
        left = Decimal(str(left))
    left, right = _fold(left), _fold(right)
    if op == "==":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if left is None or right is None:
        return False
    try:
        return bool({">": left > right, "<": left < right, ">=": left >= right,
                     "<=": left <= right}[op])
    except TypeError as exc:
        raise WhereError(f"cannot compare {left!r} with {right!r}") from exc


class _Parser:
    def __init__(self, text: str, resolve: Resolver) -> None:
        self.tokens = _tokens(text)
        self.pos = 0
        self.resolve = resolve

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (value is not None and token[1] != value):
            raise WhereError(f"expected {value or 'more'} in the where clause")
        self.pos += 1
        return token

    def parse(self) -> Predicate:
        predicate = self.or_()
        if self.peek() is not None:
            raise WhereError(f"unexpected {self.peek()[1]!r} in the where clause")  # type: ignore[index]
        return predicate

    def or_(self) -> Predicate:
        parts = [self.and_()]
        while self.peek() == ("op", "||"):
            self.take()
            parts.append(self.and_())
        return parts[0] if len(parts) == 1 else (lambda r: any(p(r) for p in parts))

    def and_(self) -> Predicate:
        parts = [self.not_()]
        while self.peek() == ("op", "&&"):
            self.take()
            parts.append(self.not_())
        return parts[0] if len(parts) == 1 else (lambda r: all(p(r) for p in parts))

    def not_(self) -> Predicate:
        if self.peek() == ("op", "!"):
            self.take()
            inner = self.not_()
            return lambda r: not inner(r)
        if self.peek() == ("op", "("):
            self.take()
            inner = self.or_()
            self.take(")")
            return inner
        return self.comparison()

    def comparison(self) -> Predicate:
        left = self.operand()
        token = self.peek()
        if token and token[0] == "op" and token[1] in ("==", "!=", ">", "<", ">=", "<="):
            op = self.take()[1]
            right = self.operand()
            return lambda r: _compare(left(r), op, right(r))
        return lambda r: bool(left(r))

    def operand(self) -> Callable[[Any], Any]:
        kind, value = self.take()
        if kind == "string":
            text = re.sub(r"\\(.)", r"\1", value[1:-1])
            return lambda _r: text
        if kind == "number":
            number = Decimal(value)
            return lambda _r: number
        if kind != "ident":
            raise WhereError(f"unexpected {value!r} in the where clause")
        lowered = value.lower()
        if lowered in ("true", "false"):
            truth = lowered == "true"
            return lambda _r: truth
        if lowered == "null":
            return lambda _r: None
        if value == "Guid" and self.peek() == ("op", "("):
            self.take()
            text = self.take()[1].strip('"').lower()
            self.take(")")
            return lambda _r: text
        if value == "DateTime" and self.peek() == ("op", "("):
            self.take()
            parts = [int(self.take()[1])]
            while self.peek() == ("op", ","):
                self.take()
                parts.append(int(self.take()[1]))
            self.take(")")
            try:
                moment = date(*parts[:3])
            except (TypeError, ValueError) as exc:
                raise WhereError("invalid DateTime(...) in the where clause") from exc
            return lambda _r: moment
        path = [value]
        methods: list[tuple[str, Callable[[Any], Any] | None]] = []
        while self.peek() == ("op", "."):
            self.take()
            name = self.take()[1]
            if self.peek() == ("op", "("):
                self.take()
                argument = None if self.peek() == ("op", ")") else self.operand()
                self.take(")")
                methods.append((name, argument))
            elif methods:
                raise WhereError("a field cannot follow a method call")
            else:
                path.append(name)
        resolve = self.resolve

        def evaluate(record: Any) -> Any:
            current = resolve(record, path)
            for name, argument in methods:
                current = _method(name, current, None if argument is None else argument(record))
            return current

        return evaluate


def _method(name: str, value: Any, argument: Any) -> Any:
    text = "" if value is None else str(value)
    if name == "ToLower":
        return text.lower()
    if name == "ToUpper":
        return text.upper()
    if name in ("Contains", "StartsWith", "EndsWith") and isinstance(argument, str):
        needle, hay = argument.lower(), text.lower()
        return {"Contains": needle in hay, "StartsWith": hay.startswith(needle),
                "EndsWith": hay.endswith(needle)}[name]
    raise WhereError(f"{name}() is not supported in where clauses")


def compile_where(text: str, resolve: Resolver) -> Predicate:
    """Parse once, then evaluate per record. ``resolve(record, ["Contact", "ContactID"])``."""
    if len(text) > 2000:
        raise WhereError("the where clause is too long")
    return _Parser(text, resolve).parse()
