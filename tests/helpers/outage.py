"""Databases that fail for real: one on a small tmpfs that can be filled to the last byte
(SQLite's file, or a PostgreSQL tablespace), for the disk-full answers."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

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
