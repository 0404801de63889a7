"""Bounded integers for every number decoded from the wire.

JSON integers have no size limit and msgspec decodes any of them into a Python ``int``; a
value the database cannot hold (2**63 in a BIGINT, 2**31 in an INTEGER) then failed deep
inside an insert as an internal error. Request and payload Structs use these types instead
of ``int``, so such a value is refused at decoding with a clear message (``$.field``) before
anything runs. ``tests/server/test_hostile_input.py`` checks that every integer of every
request the server describes (GET /v1/openapi.json) and every event payload is bounded.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
#: 9999-12-31T23:59:59.999Z, the last instant an ISO 8601 text (``to_iso``) can show.
MAX_EPOCH_MS = 253_402_300_799_999

#: An integer a 32-bit INTEGER column holds.
Int32 = Annotated[int, msgspec.Meta(ge=-INT32_MAX - 1, le=INT32_MAX)]
#: An integer a 64-bit BIGINT column holds.
Int64 = Annotated[int, msgspec.Meta(ge=-INT64_MAX - 1, le=INT64_MAX)]
#: A count or size: not negative, fits an INTEGER column.
Count = Annotated[int, msgspec.Meta(ge=0, le=INT32_MAX)]
#: A row id of a serial (BIGINT) column.
RowId = Annotated[int, msgspec.Meta(ge=1, le=INT64_MAX)]
#: A time as epoch milliseconds, up to the end of year 9999.
EpochMs = Annotated[int, msgspec.Meta(ge=0, le=MAX_EPOCH_MS)]
