"""Jobdeck's settings: every one is an environment variable JOBDECK_<NAME> with a default."""

import re
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "data" / "runbooks"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JOBDECK_", extra="ignore", populate_by_name=True)

    data_dir: Path = Path("data")
    # Scale-out (docs/deploy.md): PostgreSQL for records and Redis for the queue, events and
    # control. Unset: SQLite files in the data directory and an in-process event bus.
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "JOBDECK_DATABASE_URL"))
    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("REDIS_URL", "JOBDECK_REDIS_URL"))
    # Prefix of every Redis key and channel, so several installations can share one Redis.
    redis_prefix: str = "jobdeck"
    # The first admin's password, used only when the database has no users yet; unset: one
    # is made up and printed once at the first start.
    admin_password: SecretStr | None = None
    # Encrypts the values in the secret store (data/secrets.json); a Fernet key, made with
    # `python main.py secrets key`. Unset: values are kept in plain text, readable by the
    # file's owner only.
    secrets_key: SecretStr | None = None
    # Approvers (and admins) may not approve or reject a job they started themselves.
    four_eyes: bool = True
    host: str = "127.0.0.1"
    port: int = 8080
    # The console's address as people and runbooks reach it (links, {{console_url}}); unset:
    # http://127.0.0.1:PORT (the host when it is a specific one). Set it on workers too.
    public_url: str | None = None
    # Jobs the console runs at once, in the worker process it starts and supervises (0: none,
    # e.g. with separate worker processes).
    workers: int = 2
    # The console's workers as threads of its own process, as before it had a worker process
    # (its pages and API then share the interpreter with the jobs).
    workers_in_process: bool = False
    # Hosts that may be reached although they are loopback/private: host, host:port or CIDR,
    # comma-separated. Unset: the console's own address, so the demo site works out of the box.
    allow_private_hosts: str | None = None
    # Reverse proxies whose X-Forwarded-For/-Proto are believed (IPs or CIDRs, comma-separated).
    # Unset: none, so a client cannot forge its address past the sign-in limit and the audit.
    trusted_proxies: str | None = None
    # An explicit browser binary; unset: Playwright's Chromium, else a system Chromium/Chrome.
    browser_path: str | None = None
    # Chromium's sandbox: unset, on unless Jobdeck runs as root (Chromium refuses it there).
    browser_sandbox: bool | None = None
    lease_seconds: float = 30.0
    sweep_interval_seconds: float = 15.0
    # A worker's browser is replaced after this many jobs so memory stays flat.
    browser_recycle_jobs: int = 50
    max_download_mb: float = 100.0
    # /api/health warns when the data directory's disk has less free space than this.
    min_free_mb: float = 200.0
    # A file given for a file param when a job starts (console, API, CLI) may be this large.
    max_upload_mb: float = 50.0
    # A runbook's YAML may be this large (KB of UTF-8); a larger one is refused unread.
    max_runbook_kb: int = 256
    # Each worker opens the next job's browser context while idle (a job then starts ~160 ms
    # sooner); costs one idle context (~60 MB) per worker.
    prepare_contexts: bool = True
    # Run the scheduler in this console process (one per database; another one waits and
    # takes over when the first stops renewing its lock).
    scheduler: bool = True
    # How long the scheduler's lock lasts unrenewed; it is renewed every third of that, and a
    # waiting console takes over within this plus one renewal once the holder dies.
    scheduler_lease_seconds: float = 30.0
    # The shortest interval_s a schedule may have: runs closer together pile up.
    min_schedule_interval_seconds: int = 60
    # On shutdown, running jobs get this long to finish before they are failed.
    shutdown_grace_seconds: float = 10.0
    # Longest idle wait of a queue worker polling for jobs enqueued by another process.
    queue_poll_seconds: float = 0.5
    # Notifications (docs/notifications.md): the waits before each retry of a failed
    # delivery, in seconds, comma-separated (empty: one attempt only), and after how many
    # deliveries failed for good in a row a channel is marked unhealthy.
    notify_retry_seconds: str = "10,60,300,1800"
    notify_unhealthy_after: int = 5
    # Retention (docs/retention.md): a daily sweep deletes the artifact files and snapshots
    # of finished jobs that ended more than this many days ago (0: keep them for ever), or
    # that are beyond the newest this-many finished jobs of their runbook (unset: no count
    # limit). Job rows, their steps, figures and the audit log are kept.
    retention_days: int = 30
    retention_jobs_per_runbook: int | None = None

    @field_validator("database_url")
    @classmethod
    def _postgresql_url(cls, url: str | None) -> str | None:
        if url and not url.startswith(("postgresql", "sqlite:")):
            raise ValueError("Jobdeck runs on PostgreSQL: postgresql+psycopg://user:password@"
                             "host:5432/database (unset it for the built-in SQLite)")
        return url

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, url: str | None) -> str | None:
        if url and not re.match(r"^https?://[^/\s]+(/\S*)?$", url):
            raise ValueError("the console's address as people reach it, e.g. "
                             "https://jobdeck.example.com or http://10.0.0.5:8080")
        return url

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, url: str | None) -> str | None:
        if url and not url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("use redis://[:password@]host:6379/0 (or rediss:// for TLS)")
        return url

    @field_validator("redis_prefix")
    @classmethod
    def _plain_prefix(cls, prefix: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_]+", prefix):  # Huey drops other characters from
            raise ValueError("use letters, digits and _ only")  # queue names: no collisions
        return prefix

    @field_validator("notify_retry_seconds")
    @classmethod
    def _retry_waits(cls, waits: str) -> str:
        for wait in (w.strip() for w in waits.split(",") if w.strip()):
            try:
                ok = 0 <= float(wait) < float("inf")
            except ValueError:
                ok = False
            if not ok:
                raise ValueError(f"{wait!r} is not a wait in seconds: give the waits before "
                                 "each retry, comma-separated, e.g. 10,60,300,1800 (empty: "
                                 "no retries)")
        return waits

    @field_validator("retention_days")
    @classmethod
    def _retention_days(cls, days: int) -> int:
        if days < 0:
            raise ValueError("give the days a finished job's files are kept, e.g. 30 "
                             "(0: keep them for ever)")
        return days

    @field_validator("retention_jobs_per_runbook", mode="before")
    @classmethod
    def _retention_jobs(cls, jobs: object) -> int | None:
        if jobs is None or (isinstance(jobs, str) and not jobs.strip()):
            return None  # set but empty: no count limit, like unset
        try:
            count = int(str(jobs).strip())
        except ValueError:
            count = 0
        if count < 1:
            raise ValueError("give how many of each runbook's newest finished jobs keep their "
                             "files, 1 or more (leave it unset for no count limit)")
        return count

    @property
    def notify_retry_delays(self) -> list[float]:
        """JOBDECK_NOTIFY_RETRY_SECONDS as seconds: the wait before retry 1, 2, ..."""
        return [float(v) for v in self.notify_retry_seconds.split(",") if v.strip()]

    @property
    def db_path(self) -> Path:
        return self.data_dir / "jobdeck.db"

    @property
    def db_url(self) -> str:
        """Where the records live: DATABASE_URL, else the SQLite file in the data directory."""
        return self.database_url or f"sqlite:///{self.db_path}"

    @property
    def queue_path(self) -> Path:
        return self.data_dir / "queue.db"

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def artifacts_dir(self) -> Path:
        return self.data_dir / "artifacts"

    @property
    def runbook_dirs(self) -> list[Path]:
        """The shipped examples, then the data directory's own runbooks."""
        dirs = [EXAMPLES_DIR, self.data_dir / "runbooks"]
        return list(dict.fromkeys(d.resolve() for d in dirs))

    @property
    def console_url(self) -> str:
        """The console's base URL, no trailing slash: what `{{console_url}}` stands for."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("", "0.0.0.0", "::") else self.host
        return f"http://{'[' + host + ']' if ':' in host else host}:{self.port}"

    @property
    def private_host_allowlist(self) -> list[str]:
        """Private hosts runbooks may reach: JOBDECK_ALLOW_PRIVATE_HOSTS, and always the
        console's own address (its demo site is what the examples drive)."""
        own = urlsplit(self.console_url)
        port = own.port or (443 if own.scheme == "https" else 80)
        console = [f"{own.hostname}:{port}", f"127.0.0.1:{self.port}", f"localhost:{self.port}"]
        given = [h.strip() for h in (self.allow_private_hosts or "").split(",") if h.strip()]
        return list(dict.fromkeys(given + console))


_process: list[Settings] = []  # the one Settings this process was composed with


def use_settings(settings: Settings) -> Settings:
    """Make `settings` this process's settings; the composition (engine.runtime.Runtime,
    which main.py and the tests build from one Settings) calls it once."""
    _process[:] = [settings]
    return settings


def current_settings() -> Settings:
    """This process's settings: the ones its Runtime was built with (until one is built,
    read from the environment once)."""
    if not _process:
        use_settings(Settings())
    return _process[0]
