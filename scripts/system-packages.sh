#!/usr/bin/env bash
# Debian packages Fieldpass needs at run time: libzbar0 (barcode decoding for cameras),
# libusb-1.0-0 (USB receipt printers through pyusb).
# Installs only what is missing; needs root or sudo the first time.
set -euo pipefail
missing=()
ldconfig -p 2>/dev/null | grep -q 'libzbar\.so\.0' || missing+=(libzbar0)
ldconfig -p 2>/dev/null | grep -q 'libusb-1\.0\.so\.0' || missing+=(libusb-1.0-0)
[ ${#missing[@]} -eq 0 ] && exit 0
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
echo "installing ${missing[*]} (Debian packages)..." >&2
as_root apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
