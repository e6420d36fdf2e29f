"""Configuration: defaults, then ``WORKBENCH_*`` environment variables, then overrides.

Everything is read and checked once, at start-up, into a frozen ``Settings``; a bad
value stops the process with one line naming the variable and what is wrong.
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
from dataclasses import dataclass, field, fields, replace
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from classifiers.language import LanguageConfigError, check_languages
from workbench.rules.legal_deadlines import LegalRequestError, deadline_hours
from workbench.rules.retention import RetentionError, RetentionPolicy, retention_policy
from workbench.rules.strikes import StrikeConfigError, StrikePolicy
from workbench.rules.webhooks import WebhookPolicy
from workbench.rules.welfare import WelfareError, WelfarePolicy
from workbench.rules.wellness import (
    WellnessError,
    WellnessPolicy,
    day_start_offset,
    distressing_categories,
)
from workbench.storage import S3Location

ENV_PREFIX = "WORKBENCH_"
#: Where ``create_app`` keeps the parsed settings in ``app.extensions``.
SETTINGS_KEY = "workbench.settings"
#: Who may read /metrics without a token: this machine.
DEFAULT_METRICS_NETWORKS = ("127.0.0.0/8", "::1/128")
#: The shortest metrics token accepted (as for the secret key).
MIN_METRICS_TOKEN = 16


class SettingsError(ValueError):
    """A configuration value is missing or wrong; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    """The workbench's settings. Field ``x`` is read from ``WORKBENCH_X``."""

    @property
    def delivery_retry_window(self) -> timedelta:
        return timedelta(hours=self.delivery_retry_hours)

    @property
    def webhook_policy(self) -> WebhookPolicy:
        """Where platforms' webhooks may point (see ``workbench.rules.webhooks``)."""
        return WebhookPolicy(allow_http=self.allow_http_webhooks,
                             allow_private=self.allow_private_webhooks)

    # The rules these settings configure: checked by ``load_settings``, then parsed once
    # per process on first use.
    @cached_property
    def strike_policy(self) -> StrikePolicy:
        return StrikePolicy.from_config(self.strike_thresholds)

    @cached_property
    def welfare_policy(self) -> WelfarePolicy:
        return WelfarePolicy.from_config(self.welfare_categories, self.welfare_helplines)

    @cached_property
    def retention_policy(self) -> RetentionPolicy:
        return retention_policy(self.retention_days)

    @cached_property
    def deadline_table(self) -> dict[str, float]:
        """Hours to answer each kind of legal ask."""
        return deadline_hours(self.legal_deadline_hours)

    @cached_property
    def wellness_policy(self) -> WellnessPolicy:
        return WellnessPolicy.from_settings(self)

    instance_dir: Path = Path("instance")
    database_url: str = ""
    # Empty means: start (or reuse) the embedded Redis server under ``instance_dir``.
    redis_url: str = ""
    secret_key: str = ""
    storage_dir: Path = Path()
    model_dir: Path = Path()
    # Where blobs live: file:///path (the same as WORKBENCH_STORAGE_DIR) or
    # s3://bucket/prefix; empty means the storage directory.
    storage_url: str = ""
    # The S3-compatible store; what is empty falls back to boto3's own AWS_* variables.
    s3_endpoint_url: str = ""
    s3_region: str = ""
    s3_access_key_id: str = ""
    s3_secret_access_key: str = ""
    # A deployment on more than one machine: nothing may default to one machine's disk
    # (no generated key file, no embedded Redis, no SQLite).
    production: bool = False
    max_json_bytes: int = 5 * 1024 * 1024
    max_audio_bytes: int = 50 * 1024 * 1024
    # Images: bytes per upload, and pixels (width x height) decoded at most (bombs).
    max_image_bytes: int = 10 * 1024 * 1024
    max_image_pixels: int = 40_000_000
    max_batch_items: int = 1000
    signature_tolerance_s: int = 300
    session_idle_minutes: int = 30
    claim_lock_minutes: int = 10
    # Claim discipline: the most cases a moderator holds at once (0: no limit), and whether
    # claiming another (the `n` key) gives back the earlier claims or is refused until the
    # moderator finishes or releases them.
    claims_per_moderator: int = 1
    claim_next_releases: bool = True
    # Share (0 to 1) of "claim next" that goes to the free case the text model is least
    # sure of, so decisions teach it most (workbench/cases/learning.py); 0 turns it off.
    learning_share: float = 0.1
    # Console sign-in: cookies only over HTTPS (turn off for plain-HTTP local runs), the
    # per-address rate limit, and the lockout after repeated failures on one account.
    secure_cookies: bool = True
    # Proxies (load balancers) in front of the app whose X-Forwarded-For and
    # X-Forwarded-Proto to trust; 0 trusts none, so a client cannot forge its address.
    proxy_hops: int = 0
    login_rate_limit: str = "10 per minute"
    login_max_failures: int = 5
    login_lockout_minutes: int = 15
    # Failures from one address lock out that address only; this many on an account from
    # all addresses together lock the account itself (for the same time, not extended).
    login_account_max_failures: int = 50
    # Argon2id cost of console passwords: passes, memory (KiB) and lanes. The default is
    # OWASP's first profile (2 passes over 19 MiB, 1 lane; about 35 ms per check on a busy
    # two-core host, against 0.27-0.37 s for RFC 9106's second profile, 3 passes over
    # 64 MiB and 4 lanes, the default before). The floor is OWASP's equivalent set
    # (``OWASP_ARGON2ID_PROFILES``); docs/operations.md weighs the profiles. Hashes made
    # with other costs still verify, and are re-hashed at the user's next sign-in.
    password_hash_time_cost: int = 2
    password_hash_memory_kib: int = 19 * 1024
    password_hash_parallelism: int = 1
    # Policy reasons a decision may cite (JSON object over actions.statements.POLICY_REASONS).
    policy_reasons: dict[str, Any] = field(default_factory=dict)
    # Recordings longer than this are refused at intake rather than queued.
    max_audio_seconds: int = 3 * 60 * 60
    # Queue workers: seconds between the heartbeats of a running job (RQ's default is 30),
    # and how late a heartbeat may be before the job counts as abandoned and is handed
    # back to its queue (queues.abandoned; RQ's default is 60). The grace is long enough
    # for a worker starved of CPU on a busy machine, and the two together short enough
    # that a job whose worker died is redone within a minute.
    job_heartbeat_s: int = 10
    job_heartbeat_grace_s: int = 20
    # Enforcement webhooks: each attempt's timeout, and how long to keep retrying.
    delivery_timeout_s: int = 5
    delivery_retry_hours: int = 24
    # Webhook URLs are https:// to public addresses; the demo and tests, whose platforms
    # listen on 127.0.0.1 over plain HTTP, turn both of these on.
    allow_http_webhooks: bool = False
    allow_private_webhooks: bool = False
    appeal_window_days: int = 20
    # Classifier automation (JSON list; see workbench.cases.scoring for the default).
    automation_rules: list[Any] = field(default_factory=list)
    # Apply automation's actions one at a time through apply_action instead of set-based
    # (the same rows, slower): the classify benchmark's baseline.
    automation_one_by_one: bool = False
    # The most messages one classify job takes, its own batch and others waiting in a deep
    # queue (queues.jobs); its own batch alone if that is already more.
    classify_coalesce_items: int = 10000
    # The same for reports: the most one intake job files when report batches wait behind
    # it (platforms that send each report as it is made send batches of one).
    intake_coalesce_reports: int = 2000
    # Whether moderators, not only seniors, confirm or overturn automated actions.
    moderators_review_automation: bool = False
    text_model: str = "text"
    # The slower, stronger text model that gives reported English messages a second
    # opinion (workbench.cases.review); empty: none.
    review_text_model: str = "text-review"
    # Languages message identification may answer with (JSON list; empty means
    # classifiers.language.DEFAULT_LANGUAGES: en, hi, hi-Latn); anything else is "und".
    languages: list[Any] = field(default_factory=list)
    # Console depth: strike thresholds (JSON list; defaults in actions.strikes), minutes a
    # bulk decision may be undone, the distressing categories (JSON list; defaults in
    # workbench.cases.wellness) and the UTC time (HH:MM) at which a moderator's day starts.
    strike_thresholds: list[Any] = field(default_factory=list)
    bulk_undo_minutes: int = 10
    distressing_categories: list[Any] = field(default_factory=list)
    # The welfare path (JSON lists; defaults in workbench.rules.welfare): categories whose cases
    # offer safety resources first, and the helplines a welfare check sends.
    welfare_categories: list[Any] = field(default_factory=list)
    welfare_helplines: list[Any] = field(default_factory=list)
    wellness_day_start: str = "00:00"
    # The demo stands in for the platforms: it accepts their webhooks at /demo/platforms/.
    demo_mode: bool = False
    # Case policy overrides, JSON objects (see workbench.cases.policy for the defaults).
    deadline_hours: dict[str, Any] = field(default_factory=dict)
    severity: dict[str, Any] = field(default_factory=dict)
    routing_rules: list[Any] = field(default_factory=list)
    # Legal: days to keep each data type and hours to answer each kind of legal request,
    # JSON objects merged over the defaults in actions.retention and actions.legal_requests.
    retention_days: dict[str, Any] = field(default_factory=dict)
    legal_deadline_hours: dict[str, Any] = field(default_factory=dict)
    # Days to carry out an erasure request (the platform's policy under the DPDP Act s.12).
    erasure_deadline_days: int = 30
    # Hash exchanges, each off until its URL is set (see workbench.imagebanks.exchanges): StopNCII's
    # API (https://api.stopncii.org/v1) with its subscription key and FetchHashes function
    # key; NCMEC's hash sharing (an environment's base URL, e.g.
    # https://report.cybertip.org/hashsharing) with its user and password. The scheduled
    # fetch fills the bank named here (made on first fetch) every so many minutes.
    stopncii_url: str = ""
    stopncii_key: str = ""
    stopncii_function_key: str = ""
    stopncii_bank: str = "stopncii"
    ncmec_url: str = ""
    ncmec_user: str = ""
    ncmec_password: str = ""
    ncmec_bank: str = "ncmec"
    exchange_fetch_minutes: int = 60
    # /metrics (Prometheus): served to clients in these networks (JSON list of CIDRs;
    # the default is this machine only), or to any client sending
    # "Authorization: Bearer <metrics_token>" (unset: no token is accepted). Figures of
    # the web and worker processes are kept under metrics_dir (default
    # instance/metrics), one directory per started server or worker.
    metrics_networks: list[Any] = field(
        default_factory=lambda: list(DEFAULT_METRICS_NETWORKS))
    metrics_token: str = ""
    metrics_dir: Path = Path()


def _coerce(name: str, raw: str, default: Any) -> Any:
    env = ENV_PREFIX + name.upper()
    if isinstance(default, dict | list):
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise SettingsError(f"{env}: not valid JSON ({exc.msg})") from None
        if not isinstance(value, type(default)):
            raise SettingsError(f"{env}: expected a JSON {type(default).__name__}")
        return value
    if isinstance(default, bool):
        if raw.lower() not in {"1", "0", "true", "false", "yes", "no"}:
            raise SettingsError(f"{env}: expected true or false, got {raw!r}")
        return raw.lower() in {"1", "true", "yes"}
    if isinstance(default, int):
        try:
            value = int(raw)
        except ValueError:
            raise SettingsError(f"{env}: expected a whole number, got {raw!r}") from None
        if value <= 0:
            raise SettingsError(f"{env}: must be positive, got {value}")
        return value
    if isinstance(default, float):
        try:
            number = float(raw)
        except ValueError:
            raise SettingsError(f"{env}: expected a number, got {raw!r}") from None
        if not 0.0 <= number <= 1.0:
            raise SettingsError(f"{env}: expected a share from 0 to 1, got {number}")
        return number
    if isinstance(default, Path):
        return Path(raw)
    return raw


def normalise_database_url(url: str) -> str:
    """Pick the installed PostgreSQL driver (psycopg 3) for a plain ``postgresql://`` URL."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _check_database_url(url: str) -> None:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise SettingsError(
            f"WORKBENCH_DATABASE_URL: not a SQLAlchemy database URL: {url!r}"
        ) from None
    if parsed.get_backend_name() not in {"sqlite", "postgresql"}:
        raise SettingsError(
            "WORKBENCH_DATABASE_URL: only sqlite:// and postgresql:// are supported, "
            f"got {parsed.get_backend_name()!r}"
        )


def _check_redis_url(url: str) -> None:
    if urlparse(url).scheme not in {"redis", "rediss", "unix"}:
        raise SettingsError(
            f"WORKBENCH_REDIS_URL: expected redis://, rediss:// or unix://, got {url!r}"
        )


def _check_storage(settings: Settings) -> Settings:
    """Check ``WORKBENCH_STORAGE_URL``; a ``file://`` URL sets the storage directory."""
    url = settings.storage_url
    parsed = urlparse(url)
    if not url:
        return settings
    if parsed.scheme == "file":
        if parsed.netloc not in {"", "localhost"} or not parsed.path.startswith("/"):
            raise SettingsError(f"WORKBENCH_STORAGE_URL: expected file:///absolute/path, "
                                f"got {url!r}")
        return replace(settings, storage_dir=Path(unquote(parsed.path)).resolve())
    if parsed.scheme != "s3":
        raise SettingsError("WORKBENCH_STORAGE_URL: expected file:///path or "
                            f"s3://bucket/prefix, got {url!r}")
    try:
        S3Location.parse(url)
    except ValueError as exc:
        raise SettingsError(f"WORKBENCH_STORAGE_URL: {exc}") from None
    endpoint = settings.s3_endpoint_url
    if endpoint and (urlparse(endpoint).scheme not in {"http", "https"}
                     or not urlparse(endpoint).netloc):
        raise SettingsError(f"WORKBENCH_S3_ENDPOINT_URL: expected http(s)://host[:port], "
                            f"got {endpoint!r}")
    if bool(settings.s3_access_key_id) != bool(settings.s3_secret_access_key):
        raise SettingsError("WORKBENCH_S3_ACCESS_KEY_ID: set it and "
                            "WORKBENCH_S3_SECRET_ACCESS_KEY together, or neither")
    return settings


def _check_production(settings: Settings) -> None:
    """On more than one machine, what is shared must be named, never defaulted locally."""
    if not settings.production:
        return
    if not settings.secret_key:
        raise SettingsError("WORKBENCH_SECRET_KEY: required in production (every process "
                            "must sign with the same key; none is generated)")
    if not settings.redis_url:
        raise SettingsError("WORKBENCH_REDIS_URL: required in production (the embedded "
                            "Redis serves one machine only)")
    if not settings.database_url.startswith("postgresql"):
        raise SettingsError("WORKBENCH_DATABASE_URL: PostgreSQL is required in production "
                            "(a SQLite file serves one machine only)")


def _check_console_depth(settings: Settings) -> None:
    """Check the strike thresholds, welfare, distressing categories and wellness day start."""
    try:
        settings.strike_policy  # noqa: B018 - parsing is the check
    except StrikeConfigError as exc:
        raise SettingsError(f"WORKBENCH_STRIKE_THRESHOLDS: {exc}") from None
    try:
        settings.welfare_policy  # noqa: B018
    except WelfareError as exc:
        raise SettingsError(f"{ENV_PREFIX}WELFARE_{(exc.field or '').upper()}: {exc}") from None
    for name, check in (("DISTRESSING_CATEGORIES", distressing_categories),
                        ("WELLNESS_DAY_START", day_start_offset)):
        try:
            check(settings)
        except WellnessError as exc:
            raise SettingsError(f"{ENV_PREFIX}{name}: {exc}") from None


#: OWASP's Argon2id profiles, equal in strength by its reckoning (Password Storage Cheat
#: Sheet): the least memory in KiB for each number of passes, 5 and more alike. The floor:
#: a cost below the profile for its passes is refused.
OWASP_ARGON2ID_PROFILES = {1: 46 * 1024, 2: 19 * 1024, 3: 12 * 1024, 4: 9 * 1024, 5: 7 * 1024}


def min_password_hash_memory_kib(time_cost: int) -> int:
    """The least memory (KiB) OWASP's profiles allow with ``time_cost`` passes (1 or more)."""
    return OWASP_ARGON2ID_PROFILES[min(time_cost, max(OWASP_ARGON2ID_PROFILES))]


def _check_password_hash(settings: Settings) -> None:
    passes, memory = settings.password_hash_time_cost, settings.password_hash_memory_kib
    if passes < 1:
        raise SettingsError(f"WORKBENCH_PASSWORD_HASH_TIME_COST: at least 1, got {passes}")
    if memory < min_password_hash_memory_kib(passes):
        least = min_password_hash_memory_kib(passes)
        raise SettingsError(
            f"WORKBENCH_PASSWORD_HASH_MEMORY_KIB: at least {least} ({least // 1024} MiB) with "
            f"{passes} pass{'es' if passes > 1 else ''} (WORKBENCH_PASSWORD_HASH_TIME_COST), "
            f"got {memory}; OWASP's floor: "
            + ", ".join(f"{kib} KiB with {t}" for t, kib in OWASP_ARGON2ID_PROFILES.items())
            + " or more passes")
    if not 1 <= settings.password_hash_parallelism <= 64:
        raise SettingsError("WORKBENCH_PASSWORD_HASH_PARALLELISM: 1 to 64, got "
                            f"{settings.password_hash_parallelism}")


def _check_legal(settings: Settings) -> None:
    """Retention days and legal deadlines are checked here, like every other setting."""
    try:
        settings.retention_policy  # noqa: B018 - parsing is the check
        settings.deadline_table  # noqa: B018
    except (RetentionError, LegalRequestError) as exc:
        raise SettingsError(str(exc)) from None


def _check_languages(settings: Settings) -> None:
    """The identified languages must be ones ``classifiers.language`` can tell apart."""

    try:
        check_languages(settings.languages)
    except LanguageConfigError as exc:
        raise SettingsError(f"{ENV_PREFIX}LANGUAGES: {exc}") from None


#: Each exchange's URL variable and the credentials it needs (settings field names).
EXCHANGE_SETTINGS = {"stopncii_url": ("stopncii_key", "stopncii_function_key"),
                     "ncmec_url": ("ncmec_user", "ncmec_password")}
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


def _check_exchanges(settings: Settings) -> None:
    """An exchange's URL is https (plain http only to this machine) and comes with all
    of its credentials; credentials without a URL are a mistake, not a default."""
    for url_field, secrets_needed in EXCHANGE_SETTINGS.items():
        url = getattr(settings, url_field)
        env = ENV_PREFIX + url_field.upper()
        if not url:
            for name in secrets_needed:
                if getattr(settings, name):
                    raise SettingsError(f"{ENV_PREFIX}{name.upper()}: set {env} too "
                                        "(the exchange is off without it)")
            continue
        parsed = urlparse(url)
        local = (parsed.hostname or "") in _LOOPBACK or (parsed.hostname or "").startswith(
            "127.")
        if not parsed.hostname or parsed.scheme not in {"https", "http"} or (
                parsed.scheme == "http" and not local):
            raise SettingsError(f"{env}: expected https://host/path (http only to this "
                                f"machine), got {url!r}")
        for name in secrets_needed:
            if not getattr(settings, name):
                raise SettingsError(f"{ENV_PREFIX}{name.upper()}: required when {env} is set")


def _check_metrics(settings: Settings) -> None:
    """Operator networks are CIDRs (or single addresses); a token is long enough to guess
    no faster than the secret key."""
    for network in settings.metrics_networks:
        try:
            if not isinstance(network, str):
                raise TypeError(network)
            ipaddress.ip_network(network, strict=False)
        except (TypeError, ValueError):
            raise SettingsError(f"{ENV_PREFIX}METRICS_NETWORKS: expected a JSON list of "
                                f"networks such as \"10.0.0.0/8\", got {network!r}") from None
    if settings.metrics_token and len(settings.metrics_token) < MIN_METRICS_TOKEN:
        raise SettingsError(f"{ENV_PREFIX}METRICS_TOKEN: must be at least "
                            f"{MIN_METRICS_TOKEN} characters")


def _secret_key(instance_dir: Path) -> str:
    """The key kept in ``instance/secret_key``, generated on first use."""
    path = instance_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key)
    return key


def _or_default(path: Path, default: Path) -> Path:
    """``Path()`` stands for "not set"."""
    return default if str(path) == "." else Path(path).resolve()


def _check_heartbeats(settings: Settings) -> None:
    for name in ("job_heartbeat_s", "job_heartbeat_grace_s"):
        value = getattr(settings, name)
        if not 1 <= value <= 3600:
            raise SettingsError(f"{ENV_PREFIX}{name.upper()}: must be 1 to 3600 seconds, "
                                f"not {value}")


def load_settings(
    overrides: dict[str, Any] | None = None, environ: dict[str, str] | None = None
) -> Settings:
    """Read defaults, then the environment, then ``overrides``, and check the result."""
    environ = dict(os.environ if environ is None else environ)
    values: dict[str, Any] = {}
    defaults = Settings()
    for f in fields(Settings):
        raw = environ.get(ENV_PREFIX + f.name.upper())
        if raw is not None:
            values[f.name] = _coerce(f.name, raw, getattr(defaults, f.name))
    values.update(overrides or {})
    settings = replace(defaults, **values)
    instance = Path(settings.instance_dir).resolve()
    settings = replace(
        settings,
        instance_dir=instance,
        database_url=normalise_database_url(
            settings.database_url or f"sqlite:///{instance / 'workbench.db'}"
        ),
        storage_dir=_or_default(settings.storage_dir, instance / "blobs"),
        model_dir=_or_default(settings.model_dir, instance / "models"),
        metrics_dir=_or_default(settings.metrics_dir, instance / "metrics"),
    )
    _check_metrics(settings)
    _check_database_url(settings.database_url)
    _check_legal(settings)
    _check_password_hash(settings)
    _check_heartbeats(settings)
    _check_console_depth(settings)
    _check_languages(settings)
    _check_exchanges(settings)
    settings = _check_storage(settings)
    _check_production(settings)
    if settings.redis_url:
        _check_redis_url(settings.redis_url)
    if not settings.secret_key:
        settings = replace(settings, secret_key=_secret_key(instance))
    elif len(settings.secret_key) < 16:
        raise SettingsError("WORKBENCH_SECRET_KEY: must be at least 16 characters")
    return settings
