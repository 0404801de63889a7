"""What a printer can do: paper width, resolution, columns, and how we drive QR/barcodes/cut.

Built from a python-escpos capability profile plus per-printer settings, because the
capability data is not reliable enough to decide alone (cheap clones claim features they
lack, or lack a cutter the profile does not mention).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Literal

from fieldpass.drivers.errors import DriverSpecError
from fieldpass.drivers.printers.escpos_lib import load_escpos

QrMode = Literal["image", "native"]
BarcodeMode = Literal["hardware", "image"]
CutMode = Literal["auto", "always", "never"]

QR_MODES: tuple[str, ...] = ("image", "native")
BARCODE_MODES: tuple[str, ...] = ("hardware", "image")
CUT_MODES: tuple[str, ...] = ("auto", "always", "never")

#: Short names for the two paper widths the kiosks use.
PROFILE_ALIASES = {"80mm": "TM-T20II", "58mm": "POS-5890"}
DEFAULT_PROFILE = "80mm"
#: Used when a profile says "Unknown" (python-escpos would print a warning to stdout).
FALLBACK_WIDTH_PX = 576
FALLBACK_DPI = 203


@dataclass(frozen=True)
class PrinterProfile:
    """A printer model plus how we drive it.

    ``qr``: ``image`` (raster, works on every printer) or ``native`` (GS ( k, fewer bytes,
    only where the firmware has it). ``barcode``: ``hardware`` (GS k, needs the code-set
    prefix we add) or ``image``. ``cut``: ``auto`` (cut if the profile has a cutter, else
    just feed for tearing), ``always`` (send GS V anyway), ``never``.
    """

    name: str
    escpos_name: str
    width_px: int
    dpi: int
    columns: int
    has_cutter: bool
    qr: QrMode = "image"
    barcode: BarcodeMode = "hardware"
    cut: CutMode = "auto"
    codepages: dict[str, int] = field(default_factory=dict, compare=False, repr=False)
    escpos_data: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def cuts(self) -> bool:
        """Whether a Cut block sends a cut command (else it only feeds)."""
        return self.cut == "always" or (self.cut == "auto" and self.has_cutter)


def available_profiles() -> list[str]:
    """Profile names accepted by ``profile=`` (our aliases first)."""
    names = sorted(load_escpos().capabilities.CAPABILITIES["profiles"])
    return [*PROFILE_ALIASES, *names]


def resolve_profile(
    name: str = DEFAULT_PROFILE,
    *,
    qr: str | None = None,
    barcode: str | None = None,
    cut: str | None = None,
    width_px: int | None = None,
) -> PrinterProfile:
    """Build a profile from a python-escpos profile name or alias. Raises DriverSpecError.

    Settings the profile says the printer cannot honour are refused here, not at print time.
    """
    lib = load_escpos()
    profiles = lib.capabilities.CAPABILITIES["profiles"]
    escpos_name = PROFILE_ALIASES.get(name, name)
    if escpos_name not in profiles:
        raise DriverSpecError(
            f"unknown printer profile {name!r}; use 80mm, 58mm or a python-escpos profile "
            f"name such as TM-T88V, TM-T20II, POS-5890"
        )
    data = copy.deepcopy(profiles[escpos_name])
    features = data.get("features", {})
    media = data.setdefault("media", {})
    width = media.setdefault("width", {})
    if width_px is not None:
        width["pixels"] = width_px
    width_value = _as_int(width.get("pixels"), FALLBACK_WIDTH_PX)
    width["pixels"] = width_value
    dpi = _as_int(media.get("dpi"), FALLBACK_DPI)
    media["dpi"] = dpi
    columns = int(data.get("fonts", {}).get("0", {}).get("columns", 42))
    if width_px is not None:
        # A 12-dot font A: keep the column count consistent with an overridden width.
        columns = min(columns, max(1, width_px // 12))

    qr_mode = _choice("qr", qr, QR_MODES, "image")
    if qr_mode == "native" and not features.get("qrCode"):
        raise DriverSpecError(
            f"profile {escpos_name} does not declare native QR codes; use qr=image "
            "(or a profile that has them)"
        )
    hardware_barcodes = bool(features.get("barcodeB"))
    barcode_mode = _choice(
        "barcode", barcode, BARCODE_MODES, "hardware" if hardware_barcodes else "image"
    )
    if barcode_mode == "hardware" and not hardware_barcodes:
        raise DriverSpecError(f"profile {escpos_name} has no hardware Code128; use barcode=image")
    if (barcode_mode == "image" or qr_mode == "image") and not features.get("bitImageRaster"):
        raise DriverSpecError(
            f"profile {escpos_name} cannot print raster images; QR and image barcodes need them"
        )
    cut_mode = _choice("cut", cut, CUT_MODES, "auto")
    codepages = {name: int(index) for index, name in data.get("codePages", {}).items()}
    return PrinterProfile(
        name=name,
        escpos_name=escpos_name,
        width_px=width_value,
        dpi=dpi,
        columns=columns,
        has_cutter=bool(features.get("paperFullCut") or features.get("paperPartCut")),
        qr=qr_mode,  # type: ignore[arg-type]
        barcode=barcode_mode,  # type: ignore[arg-type]
        cut=cut_mode,  # type: ignore[arg-type]
        codepages=codepages,
        escpos_data=data,
    )


def _as_int(value: object, fallback: int) -> int:
    try:
        number = int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return fallback
    return number if number > 0 else fallback


def _choice(name: str, value: str | None, allowed: tuple[str, ...], default: str) -> str:
    if value is None:
        return default
    value = value.strip().lower()
    if value not in allowed:
        raise DriverSpecError(f"{name} must be one of {'|'.join(allowed)}, not {value!r}")
    return value
