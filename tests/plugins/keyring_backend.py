"""The OS keyring the tests use: a JSON file in the test's own directory, never the desktop's.

``tests.plugins.db`` installs it for every test (``keyring.set_keyring``) and names it in
``PYTHON_KEYRING_BACKEND`` for child processes; the file is ``NURSESTATION_TEST_KEYRING``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

FILE_ENV = "NURSESTATION_TEST_KEYRING"


class FileKeyring(KeyringBackend):
    """A real ``keyring`` backend (the library's own interface) over a JSON file."""

    priority = 1  # type: ignore[assignment]

    def _path(self) -> Path:
        return Path(os.environ[FILE_ENV])

    def _load(self) -> dict[str, str]:
        p = self._path()
        return json.loads(p.read_text(encoding="utf-8")) if p.exists() else {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}\n{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._load()
        data[f"{service}\n{username}"] = password
        self._path().write_text(json.dumps(data), encoding="utf-8")

    def delete_password(self, service: str, username: str) -> None:
        data = self._load()
        if data.pop(f"{service}\n{username}", None) is None:
            raise PasswordDeleteError("no such password")
        self._path().write_text(json.dumps(data), encoding="utf-8")
