"""What the Xero-data services share: their dependencies (``Deps``). The progress
callback they report through is ``services.progress.XeroProgress``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from xerolink.store import Store
from xerolink.store.models import Connection

if TYPE_CHECKING:  # the gateway (and the HTTP stack) loads only when a call is made
    from xerolink.xero.gateway import XeroGateway

@dataclass
class Deps:
    """What the Xero-data services use, handed in explicitly. The gateway is made on
    first use, so answers from the cache never load the HTTP stack or touch tokens."""

    store: Store
    connection: Connection
    user: str
    now: Callable[[], datetime]
    make_gateway: Callable[[], XeroGateway]
    _gateway: XeroGateway | None = None

    @property
    def gateway(self) -> XeroGateway:
        if self._gateway is None:
            self._gateway = self.make_gateway()
        return self._gateway

    def calls_made(self) -> int:
        """The Xero calls made through this gateway so far (none made: 0), so that a
        service's result can say what it cost."""
        return 0 if self._gateway is None else int(self._gateway.log.total)

    @property
    def tenant(self) -> str:
        return self.connection.tenant_id
