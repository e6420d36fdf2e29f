"""Hash lists fetched from the exchanges into banks: StopNCII (NCII) and NCMEC (CSAM).

Both go through the ``threatexchange`` library's clients. Each fetch asks only for what
changed since the bank's stored checkpoint (the exchange's own: StopNCII's
``nextSetTimestamp``; NCMEC's time window and paging URL), and commits each page with
its checkpoint, so a fetch that fails part way resumes where it stopped.

A hash the exchange withdraws (a StopNCII case withdrawn or deleted, an NCMEC entry
deleted) stops matching; its entry is kept for the matches it made.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import dacite
import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from workbench.enums import BankCategory
from workbench.imagebanks.banks import BankError, add_hashes, create_bank, withdraw_hashes
from workbench.imagebanks.lists import HashLine
from workbench.models import ExchangeCheckpoint, HashBank, utcnow
from workbench.settings import Settings

log = logging.getLogger(__name__)

_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")


class ExchangeError(ValueError):
    """An exchange is not configured, or answered what a fetch cannot use."""


@dataclass
class Page:
    """One page of an exchange's changes: hashes to bank (with their source), hashes or
    sources withdrawn, and the checkpoint after it."""

    add: dict[str, str] = field(default_factory=dict)
    withdraw: set[str] = field(default_factory=set)
    withdraw_sources: set[str] = field(default_factory=set)
    checkpoint: dict[str, Any] | None = None


class Exchange(Protocol):
    name: str
    category: str

    def pages(self, checkpoint: dict[str, Any] | None) -> Iterator[Page]: ...


class StopNCII:
    """StopNCII.org's FetchHashes, through ``threatexchange``'s ``StopNCIIAPI``.

    The library's exchange wrapper reads a record's hash, not its status, to tell a
    withdrawn one (1.2.17), so the client is used directly and ``hashStatus`` decides.
    """

    name = "stopncii"
    category = BankCategory.NCII.value

    def __init__(self, url: str, subscription_key: str, function_key: str) -> None:
        # Heavy: imported on first use, not when the module loads.
        from threatexchange.exchanges.clients.stopncii.api import StopNCIIAPI

        self.client = StopNCIIAPI(subscription_key, function_key,
                                  base_url_override=url.rstrip("/"))

    def pages(self, checkpoint: dict[str, Any] | None) -> Iterator[Page]:
        # Heavy: imported on first use, not when the module loads.
        from threatexchange.exchanges.clients.stopncii.api import (
            StopNCIIAPI,
            StopNCIICaseStatus,
            StopNCIISignalType,
        )

        # Heavy: imported on first use, not when the module loads.
        from threatexchange.exchanges.impl.stop_ncii_api import StopNCIICheckpoint

        gone = {StopNCIICaseStatus.Withdrawn, StopNCIICaseStatus.Deleted}
        start = int(checkpoint["update_time"]) if checkpoint else StopNCIIAPI.DEFAULT_START_TIME
        for response in self.client.fetch_hashes_iter(start_timestamp=start):
            page = Page(checkpoint=dataclasses.asdict(
                StopNCIICheckpoint.from_stopncii_fetch(response)))
            for record in response.hashRecords:
                if record.signalType is not StopNCIISignalType.ImagePDQ:
                    continue
                if not _HEX64.match(record.hashValue):
                    log.warning("stopncii: skipped a malformed PDQ hash %r", record.hashValue)
                    continue
                pdq = record.hashValue.lower()
                if record.hashStatus in gone:
                    page.withdraw.add(pdq)
                    page.add.pop(pdq, None)
                else:
                    page.add[pdq] = self.name
                    page.withdraw.discard(pdq)
            yield page


class NCMEC:
    """NCMEC's hash sharing, through ``threatexchange``'s NCMEC exchange and client.

    The library names its environments by URL (``NCMECEnvironment``); the client's base
    URL is set to the configured one, so a test environment or a local stand-in works.
    """

    name = "ncmec"
    category = BankCategory.CSAM.value

    def __init__(self, url: str, user: str, password: str) -> None:
        # Heavy: imported on first use, not when the module loads.
        from threatexchange.exchanges.clients.ncmec.hash_api import NCMECEnvironment

        # Heavy: imported on first use, not when the module loads.
        from threatexchange.exchanges.impl.ncmec_api import (
            NCMECCollabConfig,
            NCMECSignalExchangeAPI,
        )

        base_url = url.rstrip("/")

        class _AtURL(NCMECSignalExchangeAPI):
            def get_client(self, environment: Any) -> Any:
                client = super().get_client(environment)
                client._base_url = base_url
                return client

        self.api = _AtURL(NCMECCollabConfig(name="workbench",
                                            environment=NCMECEnvironment.Industry),
                          user, password)

    def pages(self, checkpoint: dict[str, Any] | None) -> Iterator[Page]:
        # Heavy: imported on first use, not when the module loads.
        from threatexchange.exchanges.clients.ncmec.hash_api import NCMECEntryType

        # Heavy: imported on first use, not when the module loads.
        from threatexchange.exchanges.impl.ncmec_api import NCMECCheckpoint

        # Heavy: imported on first use, not when the module loads.
        from threatexchange.signal_type.pdq.signal import PdqSignal

        start = dacite.from_dict(NCMECCheckpoint, checkpoint) if checkpoint else None
        for delta in self.api.fetch_iter([PdqSignal], start):
            page = Page(checkpoint=dataclasses.asdict(delta.checkpoint))
            for key, entry in delta.updates.items():
                source = f"{self.name}:{key}"
                if entry is None or entry.deleted:  # None: deleted, as a FetchDelta has it
                    page.withdraw_sources.add(source)
                    continue
                pdq = entry.fingerprints.get("pdq", "")
                if entry.entry_type is NCMECEntryType.image and _HEX64.match(pdq):
                    page.add[pdq.lower()] = source
            yield page


def configured(settings: Settings) -> dict[str, Exchange]:
    """The exchanges whose URL is set, by name."""
    found: dict[str, Exchange] = {}
    if settings.stopncii_url:
        found[StopNCII.name] = StopNCII(settings.stopncii_url, settings.stopncii_key,
                                        settings.stopncii_function_key)
    if settings.ncmec_url:
        found[NCMEC.name] = NCMEC(settings.ncmec_url, settings.ncmec_user,
                                  settings.ncmec_password)
    return found


#: The environment variable that turns each exchange on.
URL_VARIABLES = {StopNCII.name: "WORKBENCH_STOPNCII_URL", NCMEC.name: "WORKBENCH_NCMEC_URL"}


def exchange_for(settings: Settings, name: str) -> Exchange:
    """One configured exchange; ExchangeError says how to turn it on."""
    if name not in URL_VARIABLES:
        raise ExchangeError(f"unknown exchange {name!r}: {', '.join(URL_VARIABLES)}")
    exchange = configured(settings).get(name)
    if exchange is None:
        raise ExchangeError(f"{name} is off: set {URL_VARIABLES[name]} and its credentials")
    return exchange


@dataclass(frozen=True)
class FetchResult:
    """What one fetch did."""

    exchange: str
    bank: str
    pages: int
    added: int
    withdrawn: int


def _bank(session: Session, name: str, category: str) -> HashBank:
    """The named bank, made in the exchange's category on first fetch."""
    bank = session.execute(select(HashBank).where(HashBank.name == name)).scalar_one_or_none()
    if bank is not None:
        return bank
    try:
        bank = create_bank(session, name, category)
    except BankError as exc:
        raise ExchangeError(str(exc)) from None
    session.commit()
    return bank


def fetch_into_bank(session: Session, exchange: Exchange, bank_name: str) -> FetchResult:
    """Fetch what changed since the bank's checkpoint, committing each page with it."""
    bank = _bank(session, bank_name, exchange.category)
    row = session.execute(select(ExchangeCheckpoint).where(
        ExchangeCheckpoint.exchange == exchange.name,
        ExchangeCheckpoint.bank_id == bank.id)).scalar_one_or_none()
    if row is None:
        row = ExchangeCheckpoint(exchange=exchange.name, bank_id=bank.id, checkpoint=None,
                                 fetched_at=utcnow(), added=0, withdrawn=0)
        session.add(row)
        session.flush()
    pages = added = withdrawn = 0
    for page in exchange.pages(row.checkpoint):
        new, _ = add_hashes(session, bank, [HashLine(pdq, None, source)
                                            for pdq, source in page.add.items()])
        gone = withdraw_hashes(session, bank, page.withdraw, page.withdraw_sources)
        pages, added, withdrawn = pages + 1, added + new, withdrawn + gone
        row.checkpoint, row.fetched_at = page.checkpoint, utcnow()
        row.added, row.withdrawn = row.added + new, row.withdrawn + gone
        session.commit()
    session.commit()
    log.info("%s into %s: %d page(s), %d added, %d withdrawn", exchange.name, bank_name,
             pages, added, withdrawn)
    return FetchResult(exchange.name, bank_name, pages, added, withdrawn)


def fetch_due(session: Session, settings: Settings,
              now: datetime | None = None) -> dict[str, str]:
    """Fetch each configured exchange into its bank when its last fetch is older than
    ``exchange_fetch_minutes``; one failing exchange does not stop the others."""

    now = now or utcnow()
    every = timedelta(minutes=settings.exchange_fetch_minutes)
    done: dict[str, str] = {}
    for name, exchange in configured(settings).items():
        bank_name = getattr(settings, f"{name}_bank")
        last = session.execute(
            select(ExchangeCheckpoint.fetched_at).join(
                HashBank, HashBank.id == ExchangeCheckpoint.bank_id)
            .where(ExchangeCheckpoint.exchange == name, HashBank.name == bank_name)
        ).scalar_one_or_none()
        if last is not None and now - last < every:
            done[name] = "not due"
            continue
        try:
            result = fetch_into_bank(session, exchange, bank_name)
        except (ExchangeError, requests.RequestException) as exc:
            session.rollback()
            log.warning("%s fetch into %s failed: %s", name, bank_name, exc)
            done[name] = f"failed: {exc}"
            continue
        done[name] = f"{result.added} added, {result.withdrawn} withdrawn"
    return done
