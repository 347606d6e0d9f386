"""The Data Manager emulator's audience membership: an ingest replaces a member's identifiers, and a removal
takes out every member holding any identifier it names (audienceMembers.remove matches by user identifiers,
https://developers.google.com/data-manager/api/reference/rest/v1/audienceMembers/remove)."""

from __future__ import annotations

from hashlib import sha256

from narrowcast.sandbox.emulators.data_manager import DataManagerEmulator

DESTINATION = {"operatingAccount": {"accountType": "GOOGLE_ADS", "accountId": "123"}, "productDestinationId": "9"}


def _digest(text: str) -> str:
    return sha256(text.encode()).hexdigest()


def _member(**identifiers: str) -> dict:
    return {"userData": {"userIdentifiers": [{kind: _digest(value)} for kind, value in identifiers.items()]}}


def _send(emulator: DataManagerEmulator, method: str, *members: dict) -> None:
    emulator._apply({"method": method, "destinations": [DESTINATION], "members": list(members), "encoding": "HEX"})


def _held(emulator: DataManagerEmulator) -> set[str]:
    return set(emulator.audiences[("123", "9")])


def test_removal_matches_any_identifier_of_the_current_members_only() -> None:
    emulator = DataManagerEmulator(None)
    _send(emulator, "ingest", _member(emailAddress="a@example.com", phoneNumber="+491"),
          _member(emailAddress="b@example.com"), _member(emailAddress="c@example.com", phoneNumber="+493"))
    assert _held(emulator) == {_digest("a@example.com"), _digest("b@example.com"), _digest("c@example.com")}
    # a re-ingest replaces a's identifiers: its old phone no longer finds it
    _send(emulator, "ingest", _member(emailAddress="a@example.com", phoneNumber="+492"))
    _send(emulator, "remove", _member(phoneNumber="+491"))
    assert _digest("a@example.com") in _held(emulator)
    _send(emulator, "remove", _member(phoneNumber="+492"))
    assert _digest("a@example.com") not in _held(emulator)
    # an unknown e-mail beside a known phone still removes the phone's holder
    _send(emulator, "remove", _member(emailAddress="x@example.com", phoneNumber="+493"))
    assert _held(emulator) == {_digest("b@example.com")}
    # removing what is gone is a no-op; the removed can come back
    _send(emulator, "remove", _member(emailAddress="c@example.com"))
    _send(emulator, "ingest", _member(emailAddress="c@example.com"))
    assert _held(emulator) == {_digest("b@example.com"), _digest("c@example.com")}


def test_a_large_removal_removes_exactly_the_named_members() -> None:
    """50,000 members, then 25,000 removed in one request. Correctness only: the speed of the identifier index
    (a scan per removed member was 1.25e9 steps) is not asserted here."""
    emulator = DataManagerEmulator(None)
    members = [_member(emailAddress=f"{n}@example.com") for n in range(50_000)]
    _send(emulator, "ingest", *members)
    _send(emulator, "remove", *members[::2])
    assert _held(emulator) == {_digest(f"{n}@example.com") for n in range(1, 50_000, 2)}
