"""Where one device keeps its identity, key and store."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs


@dataclass(frozen=True)
class DeviceHome:
    """Paths of one device: ``--home DIR``, else ``$FIELDPASS_HOME``, else the user data dir.

    The private key lives in its own 0600 file, outside the database, so copying the
    store for support never leaks the key.
    """

    root: Path

    @classmethod
    def resolve(cls, home: str | Path | None) -> DeviceHome:
        if home is None or str(home) == "":
            env = os.environ.get("FIELDPASS_HOME")
            home = env if env else platformdirs.user_data_dir("fieldpass")
        return cls(Path(home).expanduser().resolve())

    @property
    def identity_path(self) -> Path:
        return self.root / "device.json"

    @property
    def key_path(self) -> Path:
        return self.root / "device.key"

    @property
    def holders_key_path(self) -> Path:
        """Petrol kiosks: the 0600 key opening PIN holders sealed for this device."""
        return self.root / "holders.key"

    @property
    def store_path(self) -> Path:
        return self.root / "store.sqlite"

    @property
    def ca_path(self) -> Path:
        """TLS: the CA bundle given at enrollment (``--ca``), trusted for this server only."""
        return self.root / "server-ca.pem"

    def ensure(self) -> None:
        """Create the home directory (owner-only) if it does not exist."""
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
