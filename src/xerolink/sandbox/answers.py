"""The sandbox's answers that are not a resource: Xero's problem bodies (401, 403),
its plain-text 404, and the 400s an edge or proxy in front of Xero gives (HTML, empty,
XML), each in the form live answers take (docs/xero-fidelity.md, "Answers")."""

from __future__ import annotations

import uuid

from xerolink.sandbox.control import json_response as _json
from xerolink.sandbox.state import Response

# Xero's plain-text answer for a URL it will not route (too long, or an unknown id).
NOT_FOUND_TEXT = b"The resource you're looking for cannot be found"

__all__ = ["EDGE_PAGE", "EDGE_XML", "NOT_FOUND_TEXT", "bad_request", "forbidden",
           "not_found_text", "too_long", "unauthorized"]


def not_found_text() -> Response:
    return 404, NOT_FOUND_TEXT, {"Content-Type": "text/plain; charset=utf-8"}


# What an edge or proxy in front of Xero answers with a 400 (docs/xero-fidelity.md).
EDGE_PAGE = (b"<!DOCTYPE html>\r\n<html><head><title>400 Bad Request</title></head>\r\n"
             b"<body><h1>Bad Request</h1><p>Your request could not be processed.</p>"
             b"<hr><address>edge</address></body></html>\r\n")
EDGE_XML = (b'<ApiException xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
            b'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\r\n'
            b"  <ErrorNumber>10</ErrorNumber>\r\n  <Type>ValidationException</Type>\r\n"
            b"  <Message>A validation exception occurred</Message>\r\n  <Elements>\r\n"
            b'    <DataContractBase xsi:type="Element">\r\n      <ValidationErrors>\r\n'
            b"        <ValidationError>\r\n          <Message>The request could not be "
            b"processed</Message>\r\n        </ValidationError>\r\n"
            b"      </ValidationErrors>\r\n    </DataContractBase>\r\n  </Elements>\r\n"
            b"</ApiException>")


def bad_request(kind: str) -> Response:
    """A 400 that is not JSON: an edge's HTML page, an empty body, or XML."""
    if kind == "empty":
        return 400, b"", {}
    if kind == "xml":
        return 400, EDGE_XML, {"Content-Type": "text/xml; charset=utf-8"}
    return 400, EDGE_PAGE, {"Content-Type": "text/html"}


def too_long(answer: str) -> Response:
    """A URL past ``max_url``: Xero's plain-text 404, or an edge's 400 page, or a 414."""
    if answer == "400-html":
        return bad_request("html")
    if answer == "414":
        return 414, b"", {}
    return not_found_text()


def unauthorized(detail: str) -> Response:
    """Xero's 401 problem body; ``Detail`` says why (TokenExpired,
    AuthenticationUnsuccessful, AuthorizationUnsuccessful)."""
    return _json(401, {"Type": None, "Title": "Unauthorized", "Status": 401, "Detail": detail,
                       "Instance": str(uuid.uuid4()), "Extensions": {}},
                 {"WWW-Authenticate": 'Bearer error="invalid_token"'} if detail !=
                 "AuthorizationUnsuccessful" else {})


def forbidden(tenant_named: bool) -> Response:
    """Xero's 403 for a tenant the token is not connected to: capitalised keys when the
    header names another organisation (xero-node #432, xero-python #116), lowercase
    ones when it is missing (NangoHQ/nango #203)."""
    instance = str(uuid.uuid4())
    if tenant_named:
        return _json(403, {"Type": None, "Title": "Forbidden", "Status": 403,
                           "Detail": "AuthenticationUnsuccessful", "Instance": instance,
                           "Extensions": {}})
    return _json(403, {"title": "Forbidden", "status": 403,
                       "detail": "AuthenticationUnsuccessful", "instance": instance})
