"""cartrack as real processes (`cartrack serve`, `cartrack scheduler`, `cartrack db upgrade`),
an empty database to start them on, a throwaway PostgreSQL cluster to stop under load, and an
HTTP/1.1 client that shows whether a keep-alive connection survived an answer."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg

from tests.helpers.alerts import env_for_subprocess, free_port, wait_for

CLI = [sys.executable, "-m", "cartrack.cli"]


def pg_url() -> str:
    return os.environ.get("CARTRACK_TEST_POSTGRES_URL", "")


def _pg_exec(admin_url: str, sql: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql)


@contextmanager
def empty_database(backend: str, tmp_path: Path) -> Iterator[str]:
    """A database with no schema at all: a new SQLite file, or a new PostgreSQL database."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    admin = pg_url().rsplit("/", 1)[0] + "/postgres"
    name = f"cartrack_e_{uuid.uuid4().hex[:12]}"
    _pg_exec(admin, f"CREATE DATABASE {name}")
    try:
        yield pg_url().rsplit("/", 1)[0] + "/" + name
    finally:
        _pg_exec(admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def run_cli(*args: str, url: str, timeout: float = 120, **settings: Any
            ) -> subprocess.CompletedProcess[str]:
    env = env_for_subprocess(database_url=url, **settings)
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    port: int | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(10)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Fleet:
    """Processes started by a test; all stopped when it ends."""

    url: str
    tmp_path: Path
    settings: dict[str, Any] = field(default_factory=dict)
    procs: list[Proc] = field(default_factory=list)

    def start(self, name: str, *args: str, port: int | None = None, **settings: Any) -> Proc:
        env = env_for_subprocess(database_url=self.url, **{**self.settings, **settings})
        log = self.tmp_path / f"{name}.log"
        with log.open("ab") as out:
            popen = subprocess.Popen([*CLI, *args], env=env, stdout=out,
                                     stderr=subprocess.STDOUT)
        proc = Proc(name, popen, log, port)
        self.procs.append(proc)
        return proc

    def serve(self, name: str, **settings: Any) -> Proc:
        port = free_port()
        proc = self.start(name, "serve", "--no-migrate", "--host", "127.0.0.1", "--port",
                          str(port), port=port, **{"scheduler_enabled": "false", **settings})
        up = wait_for(lambda: _answers(proc), 120, step=0.1)
        assert up, f"{name} did not start:\n{proc.text()}"
        return proc

    def scheduler(self, name: str, **settings: Any) -> Proc:
        return self.start(name, "scheduler", **settings)

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()


def _answers(proc: Proc) -> bool:
    if proc.popen.poll() is not None:
        raise AssertionError(f"{proc.name} exited {proc.popen.returncode}:\n{proc.text()}")
    try:
        return httpx.get(f"{proc.base}/api/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def fleet(url: str, tmp_path: Path, **settings: Any) -> Iterator[Fleet]:
    running = Fleet(url, tmp_path, settings)
    try:
        yield running
    finally:
        running.stop_all()


# ---- a throwaway PostgreSQL cluster ---------------------------------------------------------


def pg_bin() -> Path | None:
    """The server binaries of the PostgreSQL installed here (initdb, pg_ctl), if any."""
    root = Path("/usr/lib/postgresql")
    versions = sorted((p for p in root.glob("*/bin") if (p / "initdb").exists()),
                      key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    return versions[-1] if versions else None


@dataclass
class Cluster:
    bin: Path
    data: Path
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", str(self.bin / "pg_ctl"), "-D",
                        str(self.data), "-l", str(self.log), *args], check=True,
                       capture_output=True, timeout=60)

    def start(self) -> None:
        self._ctl("-o", f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1",
                  "-w", "start")

    def stop(self) -> None:
        self._ctl("-m", "fast", "-w", "stop")


@contextmanager
def throwaway_cluster(tmp_path: Path) -> Iterator[Cluster]:
    """A PostgreSQL cluster of its own (runuser -u postgres: initdb, pg_ctl), trust auth."""
    binaries = pg_bin()
    assert binaries is not None, "PostgreSQL server binaries not found under /usr/lib/postgresql"
    base = Path(f"/tmp/cartrack-pg-{uuid.uuid4().hex[:8]}")
    base.mkdir(mode=0o700)
    shutil.chown(base, "postgres", "postgres")
    cluster = Cluster(binaries, base / "data", free_port(), base / "server.log")
    subprocess.run(["runuser", "-u", "postgres", "--", str(binaries / "initdb"), "-D",
                    str(cluster.data), "-A", "trust", "-U", "postgres", "--no-sync"],
                   check=True, capture_output=True, timeout=120)
    cluster.start()
    try:
        yield cluster
    finally:
        with contextlib.suppress(subprocess.SubprocessError):
            cluster.stop()
        shutil.rmtree(base, ignore_errors=True)


# ---- one keep-alive HTTP/1.1 connection ----------------------------------------------------


class KeepAlive:
    """One HTTP/1.1 connection, reused request after request. `reconnects` counts the times
    the server closed it (an answer with `Connection: close`, or a reset)."""

    def __init__(self, base: str, headers: dict[str, str]) -> None:
        host, port = base.removeprefix("http://").split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=10)
        self.headers = headers
        self.reconnects = 0
        self._sock: Any = None

    def request(self, method: str, path: str, body: Any = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
        data = json.dumps(body).encode() if body is not None else None
        sent = {**self.headers, **(headers or {}),
                **({"Content-Type": "application/json"} if data is not None else {})}
        self.conn.request(method, path, body=data, headers=sent)
        if self._sock is not None and self.conn.sock is not self._sock:
            self.reconnects += 1
        self._sock = self.conn.sock
        response = self.conn.getresponse()
        raw = response.read()
        answer = {k.lower(): v for k, v in response.getheaders()}
        if answer.get("connection", "").lower() == "close":
            self.reconnects += 1
            self._sock = None
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode(errors="replace")
        return response.status, answer, parsed

    def close(self) -> None:
        self.conn.close()

