"""The lease a pass runs under is one step of the pass: taken around all four phases,
checked between them (a lost lease stops the pass before it writes), not taken by a
dry run; another runner's pass (``LeaseBusy``) is an exit 0 for one pass and a skipped
pass for the service."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

import pytest

from service.conftest import crm_calls, reset_counts
from service.test_watch import FakeTime
from xerolink.errors import StoreUnreachableError
from xerolink.services.lease import LeaseBusy
from xerolink.store.lease import LeaseHolder

HOLDER = LeaseHolder("alice", "host-1", 4242, datetime(2026, 1, 5, 10, 0, tzinfo=UTC))


def busy() -> LeaseBusy:
    """The lease's own refusal: another runner (alice on host-1) holds it."""
    return LeaseBusy(HOLDER, 0.0)


class Lost:
    """A lease lost during the pull: the first check, after it, raises."""

    def __init__(self) -> None:
        self.checks = 0

    def check(self) -> None:
        self.checks += 1
        if self.checks >= 1:
            raise StoreUnreachableError("the CRM lease was lost (taken over after it "
                                        "expired); this pass stopped")


def test_a_pass_runs_under_the_lease_and_stops_when_it_is_lost(salesmate, cli):
    from xerolink.api import Xerolink

    taken: list[bool] = []
    lost = Lost()

    @contextlib.contextmanager
    def crm_lease(*, wait: bool = False) -> Any:
        taken.append(wait)
        yield lost

    reset_counts(salesmate)
    with Xerolink() as xl:
        xl._crm.crm_lease = crm_lease  # type: ignore[attr-defined]
        xl.crm_update(dry_run=True)
        assert taken == []  # a dry run writes nothing: no lease
        with pytest.raises(StoreUnreachableError):
            xl.crm_update(wait=True)
    assert taken == [True] and lost.checks == 1
    assert not any(k.startswith("PUT") for k in crm_calls(salesmate))
    assert cli.json("links") == []  # stopped after the pull: nothing linked


def test_another_runners_pass_is_skipped_by_the_service(salesmate):
    from xerolink.api import Xerolink

    @contextlib.contextmanager
    def crm_lease(*, wait: bool = False) -> Any:
        raise busy()
        yield

    time = FakeTime(salesmate)
    lines: list[dict[str, Any]] = []
    with Xerolink(clock_override=time) as xl:
        xl._crm.crm_lease = crm_lease  # type: ignore[attr-defined]
        xl.crm_watch(every="15m", log=lines.append, wait=time.wait, max_passes=2)
    assert [line["outcome"] for line in lines] == ["skipped", "skipped"]
    assert lines[0]["held_by"]["held_by"]["host"] == "host-1" and time.waits == [900, 900]


def test_one_pass_held_elsewhere_says_by_whom_and_exits_0(salesmate, cli, monkeypatch):
    from xerolink.api.update import CrmService

    @contextlib.contextmanager
    def held(self: Any, wait: bool = False) -> Any:
        raise busy()
        yield

    monkeypatch.setattr(CrmService, "_pass_lease", held)
    reset_counts(salesmate)
    code, out, err = cli("crm", "update")
    assert code == 0, err
    assert out.strip() == busy().result.message and "alice on host-1" in out
    assert cli.json("crm", "update") == busy().result.to_json()
    assert not any(k.startswith("PUT") for k in crm_calls(salesmate))
