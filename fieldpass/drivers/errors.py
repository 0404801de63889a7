"""Errors raised by hardware drivers; ``code`` is machine-readable, the text is for people."""

from __future__ import annotations


class DriverError(Exception):
    """A driver could not be selected, opened or used."""

    code = "driver_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self)


class DriverSpecError(DriverError):
    """A driver spec string (``serial:/dev/ttyACM0``, ``sim:FILE``) is malformed or unknown."""

    code = "bad_driver_spec"


class DriverUnavailable(DriverError):
    """The spec names a transport this build or host cannot provide."""

    code = "driver_unavailable"
