"""Databases that fail for real: one on a small tmpfs that can be filled to the last byte
(SQLite's file, or a PostgreSQL tablespace), for the disk-full answers."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from cartrack.db import engine_for, new_session
from cartrack.demo import seed_reference
from cartrack.migrate import upgrade
from cartrack.settings import get_settings
from tests.helpers.constants import PASSWORD
from tests.helpers.processes import throwaway_cluster


@contextmanager
def tmpfs(size_mb: int) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="cartrack-tmpfs-"))
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0777", "tmpfs",
                        str(path)], capture_output=True, text=True, check=False)
    if r.returncode != 0:
        path.rmdir()
        pytest.skip(f"cannot mount a tmpfs here (needs root): {r.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True)
        with contextlib.suppress(OSError):
            path.rmdir()


@dataclass
class Disk:
    root: Path

    @property
    def filler(self) -> Path:
        return self.root / "filler"

    def fill(self) -> None:
        """Write until the file system has no byte left."""
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            for size in (256 * 1024, 4096, 1):
                with contextlib.suppress(OSError):
                    while os.write(fd, b"\0" * size):
                        pass
        finally:
            os.close(fd)

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)


def _configure(url: str) -> None:
    os.environ["CARTRACK_DATABASE_URL"] = url
    os.environ["CARTRACK_ENVIRONMENT"] = "test"
    get_settings.cache_clear()
    engine_for.cache_clear()


def _migrate_and_seed(url: str) -> None:
    upgrade(url)
    _configure(url)
    with new_session() as session:
        seed_reference(session, PASSWORD)
        session.commit()


@contextmanager
def database_on_small_disk(backend: str, tmp_path: Path) -> Iterator[tuple[str, Disk]]:
    """A migrated, seeded database whose storage is a 48 MB tmpfs, configured for this test."""
    before = {k: os.environ.get(k) for k in ("CARTRACK_DATABASE_URL", "CARTRACK_ENVIRONMENT")}
    try:
        yield from _on_small_disk(backend, tmp_path)
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        get_settings.cache_clear()
        engine_for.cache_clear()


def _on_small_disk(backend: str, tmp_path: Path) -> Iterator[tuple[str, Disk]]:
    with tmpfs(48) as root:
        if backend == "sqlite":
            url = f"sqlite:///{root / 'cartrack.db'}"
            _migrate_and_seed(url)
            yield url, Disk(root)
            engine_for(url).dispose()
            return
        with throwaway_cluster(tmp_path) as cluster:
            space = root / "pg"
            space.mkdir()
            shutil.chown(space, "postgres", "postgres")
            name = f"cartrack_full_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(cluster.url, autocommit=True) as conn:
                conn.execute(f"CREATE TABLESPACE small LOCATION '{space}'")
                conn.execute(f"CREATE DATABASE {name} TABLESPACE small")
            url = cluster.url.rsplit("/", 1)[0] + "/" + name
            _migrate_and_seed(url)
            yield url, Disk(root)
            engine_for(url).dispose()


# ---- a proxy in front of PostgreSQL that cuts one COMMIT's answer ---------------------------


class CommitCutter:
    """A TCP proxy to PostgreSQL. Armed, it forwards the next COMMIT, waits for the server's
    answer (so the server has committed), then closes the client's connection instead of
    passing the answer on: the client cannot know whether its transaction was saved."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.server.getsockname()[1])
        self.armed = threading.Event()
        self.cuts = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> CommitCutter:
        self._spawn(self._accept)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.server.close()

    def _spawn(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            link = {"cut": False}
            self._spawn(self._pipe, client, upstream, link, True)
            self._spawn(self._pipe, upstream, client, link, False)

    def _pipe(self, src: socket.socket, dst: socket.socket, link: dict[str, bool],
              from_client: bool) -> None:
        try:
            while data := src.recv(65536):
                if not from_client and link["cut"]:
                    self.cuts += 1
                    break  # the server answered the COMMIT: drop the answer, cut the line
                dst.sendall(data)
                if from_client and b"COMMIT\x00" in data and self.armed.is_set():
                    self.armed.clear()
                    link["cut"] = True
        except OSError:
            pass
        for sock in (src, dst):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
