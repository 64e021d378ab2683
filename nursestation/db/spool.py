"""The outage spool: device readings wait on disk while the database is unreachable.

Without it, a PostgreSQL outage of 60 s lost 1,211 readings of one 20 Hz stream for good (only
log lines). Each batch the writer could not store becomes one file (zlib-compressed pickle of
its readings; written to a temporary name, fsynced, renamed), named by a sequence number so the
batches are stored again in the order they came, and by a batch id that the batch's ``store``
audit row carries, so a batch committed just before a crash (before its file was removed) is
recognised and never stored twice. The spool is bounded (``max_bytes``); when full, further
batches are counted as dropped and the degraded state says so.

The files are this station's own: pickle is used because nothing but this process writes them
(the directory is created 0700 in the station's data directory).
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import threading
import zlib
from collections.abc import Sequence
from dataclasses import MISSING, dataclass, fields
from pathlib import Path

from nursestation.core.readings import Reading

log = logging.getLogger(__name__)

SUFFIX = ".batch"


def _complete(r: Reading) -> Reading:
    """A reading spooled by an older version lacks the fields added since (its slots are
    unset): give them their defaults (a spooled reading was its chair's primary site's)."""
    for f in fields(Reading):
        if not hasattr(r, f.name):
            default = f.default_factory() if f.default_factory is not MISSING else f.default
            object.__setattr__(r, f.name, default)
    return r


@dataclass(frozen=True)
class SpooledBatch:
    path: Path
    batch_id: str
    readings: list[Reading]


def spool_dir_for(base: Path, url: str, workstation: str = "") -> Path:
    """One spool per database and workstation (never replayed into another database, never
    shared by two stations)."""
    from nursestation.db.engine import shown_url

    key = f"{shown_url(url)}\n{workstation}"
    return base / hashlib.sha256(key.encode()).hexdigest()[:16]


class ReadingSpool:
    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.dir = directory
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o700)
        for tmp in self.dir.glob("*.tmp"):  # a write interrupted by a crash: never complete
            tmp.unlink(missing_ok=True)
        files = self._files()
        self._seq = int(files[-1].name.split("-", 1)[0]) if files else 0
        self._bytes = sum(p.stat().st_size for p in files)
        self._count = sum(self._readings_in(p) for p in files)

    @staticmethod
    def _readings_in(path: Path) -> int:
        try:
            return int(path.stem.rsplit("-", 1)[1])
        except (IndexError, ValueError):
            return 0

    def _files(self) -> list[Path]:
        return sorted(self.dir.glob(f"*{SUFFIX}"))

    @property
    def waiting(self) -> int:
        """Readings in the spool."""
        return self._count

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def __bool__(self) -> bool:
        return self._count > 0 or bool(self._files())

    def put(self, readings: Sequence[Reading], batch_id: str) -> bool:
        """Keep a batch on disk; False (nothing kept) when the spool is full."""
        data = zlib.compress(pickle.dumps(list(readings), protocol=pickle.HIGHEST_PROTOCOL), 6)
        with self._lock:
            if self._bytes + len(data) > self.max_bytes:
                return False
            self._seq += 1
            name = f"{self._seq:012d}-{batch_id}-{len(readings)}{SUFFIX}"
            tmp = self.dir / (name + ".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            tmp.rename(self.dir / name)
            self._bytes += len(data)
            self._count += len(readings)
        return True

    def oldest(self) -> SpooledBatch | None:
        files = self._files()
        if not files:
            return None
        path = files[0]
        readings = [_complete(r) for r in pickle.loads(zlib.decompress(path.read_bytes()))]
        batch_id = path.stem.split("-")[1]
        return SpooledBatch(path, batch_id, readings)

    def done(self, batch: SpooledBatch) -> None:
        """The batch is committed: remove its file."""
        with self._lock:
            size = batch.path.stat().st_size
            batch.path.unlink()
            self._bytes -= size
            self._count -= len(batch.readings)
