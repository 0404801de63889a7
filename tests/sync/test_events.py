"""The outbox hash chain and its signatures, as the server will check them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fieldpass.sync import signing
from fieldpass.sync.events import (
    GENESIS_HASH,
    ChainError,
    Event,
    build_event,
    canonical_bytes,
    verify_chain,
    verify_event_signature,
)

KEY = signing.generate_private_key()
OTHER_KEY = signing.generate_private_key()

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**53), 2**53), st.text(max_size=20)
)
payloads = st.dictionaries(st.text(max_size=10), json_scalars, max_size=6)


def make_chain(count: int, key=KEY, device_id: str = "dev-1", start: int = 1) -> list[Event]:
    events, prev = [], GENESIS_HASH
    for seq in range(start, start + count):
        event = build_event(
            key,
            device_id=device_id,
            seq=seq,
            kind="scan",
            device_time=1_700_000_000_000 + seq,
            payload={"n": seq},
            prev_hash=prev,
        )
        events.append(event)
        prev = event.hash
    return events


def test_a_built_chain_verifies_and_each_event_carries_its_own_signature():
    events = make_chain(5)
    verify_chain(
        events, device_id="dev-1", public_key=KEY.public_key(), first_prev_hash=GENESIS_HASH
    )
    assert all(verify_event_signature(e, KEY.public_key()) for e in events)
    assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]


def test_canonical_encoding_ignores_key_order():
    a = canonical_bytes("d", 1, "scan", 5, {"a": 1, "b": 2}, GENESIS_HASH)
    b = canonical_bytes("d", 1, "scan", 5, {"b": 2, "a": 1}, GENESIS_HASH)
    assert a == b


def test_tampered_payload_is_bad_hash():
    events = make_chain(3)
    forged = Event(**{**_fields(events[1]), "payload": {"n": 999}})
    with pytest.raises(ChainError) as err:
        verify_chain(
            [events[0], forged, events[2]],
            device_id="dev-1",
            public_key=KEY.public_key(),
            first_prev_hash=GENESIS_HASH,
        )
    assert (err.value.code, err.value.seq) == ("bad_hash", 2)


def test_signature_by_another_device_key_is_refused():
    events = make_chain(3, key=OTHER_KEY)
    with pytest.raises(ChainError) as err:
        verify_chain(
            events, device_id="dev-1", public_key=KEY.public_key(), first_prev_hash=GENESIS_HASH
        )
    assert err.value.code == "bad_signature"


def test_gap_and_broken_link_and_wrong_device_are_named():
    events = make_chain(4)
    with pytest.raises(ChainError) as err:
        verify_chain(
            [events[0], events[2]],
            device_id="dev-1",
            public_key=KEY.public_key(),
            first_prev_hash=GENESIS_HASH,
        )
    assert err.value.code == "gap"
    with pytest.raises(ChainError) as err:
        verify_chain(
            events[1:], device_id="dev-1", public_key=KEY.public_key(), first_prev_hash="f" * 64
        )
    assert err.value.code == "broken_chain"
    with pytest.raises(ChainError) as err:
        verify_chain(
            events, device_id="dev-2", public_key=KEY.public_key(), first_prev_hash=GENESIS_HASH
        )
    assert err.value.code == "wrong_device"


def test_oversized_payload_is_an_invalid_event():
    event = build_event(
        KEY,
        device_id="dev-1",
        seq=1,
        kind="scan",
        device_time=1,
        payload={"x": "a" * 20_000},
        prev_hash=GENESIS_HASH,
    )
    with pytest.raises(ChainError) as err:
        verify_chain(
            [event], device_id="dev-1", public_key=KEY.public_key(), first_prev_hash=GENESIS_HASH
        )
    assert err.value.code == "invalid_event"


@given(st.lists(payloads, min_size=1, max_size=8), st.data())
def test_any_single_change_to_a_chain_is_detected(batch, data):
    events, prev = [], GENESIS_HASH
    for seq, payload in enumerate(batch, start=1):
        events.append(
            build_event(
                KEY,
                device_id="d",
                seq=seq,
                kind="scan",
                device_time=seq,
                payload=payload,
                prev_hash=prev,
            )
        )
        prev = events[-1].hash
    verify_chain(events, device_id="d", public_key=KEY.public_key(), first_prev_hash=GENESIS_HASH)
    index = data.draw(st.integers(0, len(events) - 1))
    field = data.draw(st.sampled_from(["device_time", "kind", "payload"]))
    original = events[index]
    changed = {
        "device_time": original.device_time + 1,
        "kind": original.kind + "x",
        "payload": {**original.payload, "__tamper__": True},
    }[field]
    events[index] = Event(**{**_fields(original), field: changed})
    with pytest.raises(ChainError):
        verify_chain(
            events, device_id="d", public_key=KEY.public_key(), first_prev_hash=GENESIS_HASH
        )


def _fields(event: Event) -> dict:
    return {name: getattr(event, name) for name in event.__struct_fields__}
