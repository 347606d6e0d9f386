"""What every destination connector is: the contract between the sync engine and one API.

A connector receives batches of planned changes and answers, per row, whether the destination accepted,
rejected (with the API's reason) or skipped it. It must write idempotently (absolute quantities, set
membership, upsert keys) because the engine re-sends whatever was not confirmed before a crash.

An API that accepts rows into an asynchronous job and decides later (Google's Customer Match jobs run for
hours) names the job in each row's result; the engine asks for the job's outcome on later runs
(:meth:`Destination.job_statuses`) and re-plans the rows of a job that failed.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, NamedTuple

from narrowcast.contracts.connections import Connection
from narrowcast.http import HttpClient, TokenBucket

Operation = Literal["add", "change", "remove"]
Outcome = Literal["accepted", "rejected", "skipped"]
JobState = Literal["pending", "succeeded", "failed"]


class Change(NamedTuple):
    """One planned row: ``payload`` is the mapped fields (for a remove, the last confirmed payload).

    A named tuple rather than a frozen dataclass: a million of them are built per large sync, at a third of the cost.
    """

    key: str
    op: Operation
    payload: Mapping[str, Any]
    previous: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Batch:
    """A group of changes sent together; ``seq``/``total`` number the batches of one kind within a run.

    ``in_doubt``: for an object that declares ``send_once``, the keys of rows an earlier run journalled as about to
    be sent and never saw accepted; only these need the destination's current state read before they are sent.
    """

    run_id: str
    kind: str
    seq: int
    total: int
    changes: list[Change]
    in_doubt: frozenset[str] = frozenset()


class RowResult(NamedTuple):
    """The destination's answer for one row; ``sent`` is False when the connector decided without calling the API.

    ``job``: the asynchronous job an accepted row went into, when the API only decides later.
    ``remote_id``: the id the destination gave the object an accepted row created or updated (an eBay offer id, an
    Etsy listing id, a Shopify inventory item id), so later syncs can address it without a hand-kept mapping.
    """

    key: str
    outcome: Outcome
    reason: str | None = None
    sent: bool = True
    job: str | None = None
    remote_id: str | None = None


class JobStatus(NamedTuple):
    """Where an asynchronous job stands; ``reason`` says why it failed."""

    state: JobState
    reason: str | None = None


@dataclass(frozen=True)
class ObjectSpec:
    """What a destination object needs from a sync declaration; ``hashed_fields`` must arrive as SHA-256 hex.

    ``group_field``: rows sharing a non-null value of this field belong together (an eBay variant group) and the
    engine sends them in one batch whenever the group fits in one; it also sends each operation's rows together.

    ``send_once``: a row sent twice is applied twice (a shipment, which the marketplace records again on every
    call). The engine journals each row's intent in the warehouse, committed before the send, and names the rows
    whose intent an earlier run left open in :attr:`Batch.in_doubt`.

    ``rate_budget``: the rate limit the object's calls draw on, where the API limits each endpoint on its own
    (Klaviyo). Syncs of one connection send one after another because they share its budget; syncs of objects
    with different budgets share none, so they send side by side. ``None``: the whole account's (Meta's ad-account
    score, Shopify's bucket).
    """

    required_fields: frozenset[str] = frozenset()
    optional_fields: frozenset[str] | None = None  # None: any other field name is allowed
    required_target: frozenset[str] = frozenset()
    hashed_fields: frozenset[str] = frozenset()
    group_field: str | None = None
    send_once: bool = False
    default_mode: str = "upsert"
    allowed_modes: frozenset[str] = frozenset({"upsert", "mirror", "add_only"})
    rate_budget: str | None = None


@dataclass(frozen=True)
class Limits:
    """The API's hard limits and documented default rate: sync declarations are validated against them and
    the connector reads its request sizes from here, so each number is written once.

    ``request_caps``: the most items the API takes in one of the connector's other calls (a lookup, a removal),
    by the name the connector uses for that call.
    """

    max_batch_size: int
    default_rps: float
    default_burst: float
    max_concurrency: int = 8
    request_caps: Mapping[str, int] = field(default_factory=dict)


@dataclass
class SendContext:
    """Everything a connector needs at run time besides the batches."""

    connection: Connection
    target: Mapping[str, Any]
    object: str
    rate_limiter: TokenBucket
    sleep: Callable[[float], None] = time.sleep
    extra: dict[str, Any] = field(default_factory=dict)
    # The sync's rate_limit.concurrency: requests in flight at once. The engine sends that many batches side by
    # side; a connector that makes one call per row (Amazon's patchListingsItem) spends it on those calls instead.
    concurrency: int = 1


class Destination(ABC):
    """Base connector. Subclasses declare ``name``, ``connection_id`` (the Airflow connection they use),
    ``objects``, ``limits``, optionally ``client_class`` (the API's client from ``narrowcast.apis``) and ``api_name``
    (the API's name in their errors, told apart from the source's), and implement :meth:`send`."""

    name: ClassVar[str]
    connection_id: ClassVar[str]
    objects: ClassVar[Mapping[str, ObjectSpec]]
    limits: ClassVar[Limits]
    # A destination of a service with conventions of its own names that service's client; the plain client
    # suits a simple JSON API. ``api_name`` defaults to ``name``.
    client_class: ClassVar[type[HttpClient]] = HttpClient
    api_name: ClassVar[str | None] = None

    def __init__(self, context: SendContext) -> None:
        self.context = context
        self.target = context.target
        self.object = context.object
        self.client = self.make_client(context)

    def make_client(self, context: SendContext) -> HttpClient:
        """The API's client built from the connection as a source builds it (auth, version, retry settings),
        under the sync's rate limit."""
        return self.client_class.from_connection(
            context.connection, api_name=self.api_name or self.name, rate_limiter=context.rate_limiter, sleep=context.sleep,
            **self.client_settings(context.connection),
        )

    @classmethod
    def check_declaration(cls, object_name: str, target: Mapping[str, Any], fields: set[str]) -> str | None:
        """A problem with a sync's target/fields beyond what :class:`ObjectSpec` expresses, or None."""
        return None

    def client_settings(self, connection: Connection) -> dict[str, Any]:
        """Client keyword arguments this connector needs beyond the API's own, e.g. extra ``headers``."""
        return {}

    @property
    def api_calls(self) -> int:
        return self.client.calls

    @abstractmethod
    def send(self, batch: Batch) -> list[RowResult]:
        """Apply one batch; return one result per change (missing keys count as rejected by the engine)."""

    def job_statuses(self, jobs: list[str]) -> dict[str, JobStatus]:
        """The state of jobs named in earlier :class:`RowResult` answers; a job left out stays pending."""
        raise NotImplementedError(f"{self.name} names no asynchronous jobs")


def chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
