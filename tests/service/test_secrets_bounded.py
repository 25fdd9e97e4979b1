"""A service renews its access token every 30 minutes: the secrets remembered for
masking are bounded, and the ones in use stay masked."""

from __future__ import annotations

from xerolink import redact as redaction
from xerolink.redact import MAX_SECRETS, redact, register_secret


def test_renewed_tokens_do_not_pile_up_and_the_one_in_use_stays_masked():
    in_use = "salesmate-key-in-use-0123456789"
    for number in range(3 * MAX_SECRETS):
        register_secret(f"renewed-access-token-{number:06d}-abcdef")
        if number % 100 == 0:
            register_secret(in_use)  # loaded again by each pass
    assert len(redaction._secrets) <= MAX_SECRETS
    newest = f"renewed-access-token-{3 * MAX_SECRETS - 1:06d}-abcdef"
    assert redact(f"x {newest} {in_use} y") == "x *** *** y"
