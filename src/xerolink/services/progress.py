"""The progress callbacks services report through, defined once for each shape so that a
service, the Python API and the CLI's progress bars agree on what is passed."""

from __future__ import annotations

from collections.abc import Callable

# A read of Xero data: (done, total or None, phase=None) — contacts synced, documents
# refreshed, contacts auto-linked.
XeroProgress = Callable[..., None]
# A CRM pull or push: (kind, done, total or None) — records of one kind.
CrmProgress = Callable[[str, int, int | None], None]
