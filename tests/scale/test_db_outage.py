"""A PostgreSQL outage longer than a lease: a job whose worker is alive finishes, and a job
whose worker is gone still fails as worker_lost once leases could have been renewed."""

import socket
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy.engine import make_url
from support import eventually, free_port

from engine.service.jobs import get_job, start_job
from engine.settings import Settings
from engine.store.db import session_scope
from engine.store.transitions import transition_job
from models import ErrorKind, JobStatus, StepStatus, utcnow

pytestmark = pytest.mark.slow


class CuttableProxy:
    """A TCP proxy 127.0.0.1:port → the database, which can cut every connection and
    refuse new ones (the server away, as a restart or a network fault looks to Jobdeck)."""

    def __init__(self, target: tuple[str, int]):
        self.target, self.port = target, free_port()
        self.up = threading.Event()
        self.up.set()
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self) -> None:
        self.up.clear()
        with self._lock:
            for sock in self._sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
            self._sockets.clear()

    def restore(self) -> None:
        self.up.set()

    def close(self) -> None:
        self.cut()
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self.up.is_set():  # refused: closed at once, as a server that is away
                client.close()
                continue
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.update((client, server))
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.close()
                except OSError:
                    pass


@pytest.fixture
def proxied(pg_url):
    """(proxy, the test database's URL through the proxy)."""
    url = make_url(pg_url)
    proxy = CuttableProxy((url.host or "127.0.0.1", url.port or 5432))
    yield proxy, url.set(host="127.0.0.1", port=proxy.port).render_as_string(
        hide_password=False)
    proxy.close()


def lease_settings(tmp_path, database_url: str, site_port: int) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=database_url, redis_url=None,
                    allow_private_hosts=f"127.0.0.1:{site_port}", workers=1,
                    lease_seconds=3, sweep_interval_seconds=1)


RUNBOOK = """
version: 1
name: long-wait
title: Waits a while
settings: {{base_url: "{site}", timeout_ms: 3000}}
steps:
  - {{action: goto, url: /}}
  - {{name: long, action: wait, ms: 15000}}
"""


def test_a_running_job_survives_an_outage_longer_than_its_lease(proxied, tmp_path, site,
                                                                site_port):
    from engine.runbook import load_runbook
    from engine.runtime import Runtime
    from engine.service.runbooks import save_runbook

    proxy, url = proxied
    runtime = Runtime(lease_settings(tmp_path, url, site_port))
    try:
        save_runbook(load_runbook(RUNBOOK.format(site=site), "long-wait.yaml"))
        runtime.start_workers(1)
        runtime.start_sweeper()
        job = start_job("long-wait")
        eventually(lambda: any(s.name == "long" and s.status == StepStatus.running
                             for s in get_job(job.id).steps), 60, "the long step to run")
        proxy.cut()
        time.sleep(8)  # well over the 3 s lease: every lease expires meanwhile
        proxy.restore()
        detail = eventually(lambda: (d := get_job(job.id)).job.status.is_final and d, 60,
                          "the job to end")
        assert detail.job.status == JobStatus.completed, detail.job.error_message
    finally:
        runtime.stop()


def test_a_lost_worker_fails_once_a_lease_has_passed_after_the_outage(proxied, tmp_path,
                                                                     site, site_port):
    from engine.background.sweeper import Sweeper
    from engine.runbook import load_runbook
    from engine.runtime import Runtime
    from engine.service.jobs import create_job
    from engine.service.runbooks import save_runbook

    proxy, url = proxied
    settings = lease_settings(tmp_path, url, site_port)
    runtime = Runtime(settings)
    try:
        save_runbook(load_runbook(RUNBOOK.format(site=site), "long-wait.yaml"))
        job_id = create_job("long-wait").id
        with session_scope() as session:  # held by a worker that is gone: no heartbeat
            transition_job(session, job_id, JobStatus.running, worker_id="gone:1:abc",
                           started_at=utcnow(), lease_expires_at=utcnow() + timedelta(seconds=1))
        sweeper = Sweeper(settings, requeue=lambda: False)
        assert sweeper.sweep() == []  # its lease still runs
        proxy.cut()
        threading.Timer(5, proxy.restore).start()
        # waits in the reconnect through the outage; then holds off for a lease
        assert sweeper.sweep() == [] and sweeper.holding()
        back = time.monotonic()
        while sweeper.holding():
            assert sweeper.sweep() == [], "failed before a lease had passed since the outage"
            time.sleep(0.5)
        assert time.monotonic() - back >= settings.lease_seconds - 0.5
        assert sweeper.sweep() == [job_id]
        detail = get_job(job_id)
        assert detail.job.status == JobStatus.failed
        assert detail.job.error_kind == ErrorKind.worker_lost
        # and without an outage the rule is the usual one: expired is lost
        other = create_job("long-wait").id
        with session_scope() as session:
            transition_job(session, other, JobStatus.running, worker_id="gone:2:abc",
                           started_at=utcnow(), lease_expires_at=utcnow() - timedelta(seconds=1))
        assert sweeper.sweep() == [other]
    finally:
        runtime.stop()
