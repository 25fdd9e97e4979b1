"""The sandbox's identity service keeps Xero's OAuth2 rules."""

from __future__ import annotations

import http.client
from urllib.parse import parse_qs, urlsplit

from support import (
    REDIRECT,
    api,
    authorize_url,
    code_for,
    control,
    form,
    pkce_pair,
    request,
    sandbox_token,
)
from xerolink.sandbox import CUSTOM_CLIENT_ID, PKCE_CLIENT_ID
from xerolink.sandbox.browser import approve


def _exchange(base: str, code: str, verifier: str, redirect: str = REDIRECT):
    return form(base, "/connect/token", {
        "grant_type": "authorization_code", "code": code, "redirect_uri": redirect,
        "code_verifier": verifier, "client_id": PKCE_CLIENT_ID})


def test_pkce_exchange_echoes_state_and_issues_rotating_tokens(sandbox) -> None:
    base = sandbox.base_url
    verifier, challenge = pkce_pair()
    location = approve(authorize_url(base, challenge, state="abc123"))
    query = parse_qs(urlsplit(location).query)
    assert location.startswith(REDIRECT)
    assert query["state"] == ["abc123"]
    status, token = _exchange(base, query["code"][0], verifier)
    assert status == 200
    assert token["token_type"] == "Bearer" and token["expires_in"] == 1800
    assert token["refresh_token"] and token["access_token"] != token["refresh_token"]


def test_wrong_verifier_and_reused_code_are_invalid_grant(sandbox) -> None:
    base = sandbox.base_url
    verifier, challenge = pkce_pair()
    code = code_for(base, challenge)
    other_verifier, _ = pkce_pair()
    status, body = _exchange(base, code, other_verifier)
    assert (status, body["error"]) == (400, "invalid_grant")
    # The code was spent by the failed attempt: single use, whatever the outcome.
    status, body = _exchange(base, code, verifier)
    assert (status, body["error"]) == (400, "invalid_grant")


def test_codes_expire_and_redirect_uri_must_match(sandbox) -> None:
    base = sandbox.base_url
    verifier, challenge = pkce_pair()
    _, body = _exchange(base, code_for(base, challenge), verifier,
                        redirect="http://127.0.0.1:9999/callback")
    assert body["error"] == "invalid_grant"
    code = code_for(base, challenge)
    control(base, "POST", "clock", {"advance_seconds": 301})
    _, body = _exchange(base, code, verifier)
    assert body["error"] == "invalid_grant"


def test_authorize_rejects_non_loopback_redirect_and_plain_pkce(sandbox) -> None:
    base = sandbox.base_url
    _, challenge = pkce_pair()
    url = authorize_url(base, challenge).replace("127.0.0.1%3A8742", "evil.example.com")
    status, _, page = request(base, "GET", url[len(base):])
    assert status == 400 and b"loopback" in page
    url = authorize_url(base, challenge, code_challenge_method="plain")
    location = approve(url)
    assert parse_qs(urlsplit(location).query)["error"] == ["invalid_request"]


def test_denying_consent_redirects_with_access_denied(sandbox) -> None:
    _, challenge = pkce_pair()
    location = approve(authorize_url(sandbox.base_url, challenge, state="s1"), allow=False)
    assert parse_qs(urlsplit(location).query) == {"error": ["access_denied"], "state": ["s1"]}


def test_refresh_is_single_use_with_a_grace_period_then_invalid_grant(sandbox) -> None:
    base = sandbox.base_url
    first = sandbox_token(base)
    refresh = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"],
               "client_id": PKCE_CLIENT_ID}
    status, second = form(base, "/connect/token", refresh)
    assert status == 200 and second["refresh_token"] != first["refresh_token"]
    # The response was "lost": retrying the old token within the grace period works.
    status, again = form(base, "/connect/token", refresh)
    assert status == 200 and again["refresh_token"] == second["refresh_token"]
    control(base, "POST", "clock", {"advance_seconds": 1801})
    status, body = form(base, "/connect/token", refresh)
    assert (status, body["error"]) == (400, "invalid_grant")
    stats = control(base, "GET", "stats")
    assert stats["invalid_grant"] == 1
    assert stats["token_grants"] == {"authorization_code": 1, "refresh_token": 2}
    # The newest refresh token still works after the old one died.
    status, _ = form(base, "/connect/token", {**refresh, "refresh_token": second["refresh_token"]})
    assert status == 200


def test_access_tokens_expire_after_their_ttl(sandbox) -> None:
    base = sandbox.base_url
    token = sandbox_token(base)
    tenant = next(iter(sandbox.sandbox.tenants))
    assert api(base, token, tenant, "GET", "/Organisation")[0] == 200
    control(base, "POST", "clock", {"advance_seconds": 1800})
    status, headers, body = api(base, token, tenant, "GET", "/Organisation")
    assert status == 401 and "TokenExpired" in body["Detail"]
    assert "invalid_token" in headers["www-authenticate"]


def test_custom_connection_uses_client_credentials_for_one_organisation(sandbox) -> None:
    base = sandbox.base_url
    apps = control(base, "GET", "apps")
    custom = apps["custom_connection"]
    status, body = form(base, "/connect/token", {"grant_type": "client_credentials",
                                                 "client_id": CUSTOM_CLIENT_ID,
                                                 "client_secret": "wrong"})
    assert (status, body["error"]) == (400, "invalid_client")
    import base64

    basic = base64.b64encode(f"{custom['client_id']}:{custom['client_secret']}".encode()).decode()
    status, token = form(base, "/connect/token", {"grant_type": "client_credentials"},
                         headers={"Authorization": f"Basic {basic}"})
    assert status == 200 and "refresh_token" not in token
    _, _, listed = request(base, "GET", "/connections",
                           headers={"Authorization": f"Bearer {token['access_token']}"})
    import json

    assert [c["tenantId"] for c in json.loads(listed)] == [custom["tenant_id"]]


def test_revocation_ends_the_grant(sandbox) -> None:
    base = sandbox.base_url
    token = sandbox_token(base)
    status, _ = form(base, "/connect/revocation", {"token": token["refresh_token"],
                                                    "client_id": PKCE_CLIENT_ID})
    assert status == 200
    status, body = form(base, "/connect/token", {"grant_type": "refresh_token",
                                                 "refresh_token": token["refresh_token"],
                                                 "client_id": PKCE_CLIENT_ID})
    assert body["error"] == "invalid_grant"
    tenant = next(iter(sandbox.sandbox.tenants))
    assert api(base, token, tenant, "GET", "/Organisation")[0] == 401


def test_deleting_a_connection_removes_that_organisation_only(sandbox) -> None:
    import json

    base = sandbox.base_url
    sandbox.sandbox.options.bulk_connections = True  # both organisations in one consent
    token = sandbox_token(base)
    auth = {"Authorization": f"Bearer {token['access_token']}"}
    connections = json.loads(request(base, "GET", "/connections", headers=auth)[2])
    assert len(connections) == 2
    gone, kept = connections
    status, _, _ = request(base, "DELETE", f"/connections/{gone['id']}", headers=auth)
    assert status == 204
    assert api(base, token, gone["tenantId"], "GET", "/Organisation")[0] == 403
    assert api(base, token, kept["tenantId"], "GET", "/Organisation")[0] == 200
    assert request(base, "DELETE", f"/connections/{gone['id']}", headers=auth)[0] == 404


def test_consent_page_lets_the_user_choose_one_organisation(sandbox) -> None:
    import json

    base = sandbox.base_url
    first, second = list(sandbox.sandbox.tenants)
    token = sandbox_token(base, tenants=[second])
    auth = {"Authorization": f"Bearer {token['access_token']}"}
    connections = json.loads(request(base, "GET", "/connections", headers=auth)[2])
    assert [c["tenantId"] for c in connections] == [second]
    assert api(base, token, first, "GET", "/Organisation")[0] == 403


def test_unknown_client_gets_an_error_page(sandbox) -> None:
    _, challenge = pkce_pair()
    url = authorize_url(sandbox.base_url, challenge).replace(PKCE_CLIENT_ID, "nobody")
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    conn.request("GET", f"{parts.path}?{parts.query}")
    response = conn.getresponse()
    assert response.status == 400 and b"unauthorized_client" in response.read()
