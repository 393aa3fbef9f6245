"""The words every exercise uses: what a customer asks for, and what they get back.

Plain dataclasses with no imports beyond the standard library, so workflow code can
use them inside Temporal's sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields


@dataclass
class TripRequest:
    """One customer's trip: a seat, a room and a car, paid with one card."""

    trip_id: str
    customer: str
    flight: str  # a flight number, e.g. "TW101"
    hotel: str  # a hotel id, e.g. "harbor-view"
    room_type: str  # "standard", "deluxe" or "suite"
    nights: int
    car_type: str  # "economy", "compact", "midsize", "suv" or "luxury"
    rental_days: int
    card_number: str


@dataclass
class Itinerary:
    """What a confirmed trip holds: one reservation id per step and the payment, and
    the notices of auxiliary steps that failed after it was confirmed (exercise 05)."""

    trip_id: str
    flight_reservation: str
    hotel_reservation: str
    car_reservation: str
    payment_id: str
    notices: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = (
            f"flight {self.flight_reservation}, hotel {self.hotel_reservation}, "
            f"car {self.car_reservation}, payment {self.payment_id}"
        )
        # Only when there are any, so the trips of exercises 01-04 print as they always did.
        return text + "".join(f"\n  notice: {notice}" for notice in self.notices)


def example_trip(trip_id: str = "trip-001", **changes: object) -> TripRequest:
    """The trip the exercises book unless told otherwise: $280 + $945 + $165."""
    trip = TripRequest(
        trip_id=trip_id,
        customer="Ada Lovelace",
        flight="TW101",
        hotel="harbor-view",
        room_type="deluxe",
        nights=3,
        car_type="economy",
        rental_days=3,
        card_number="4242424242424242",
    )
    for name, value in changes.items():
        setattr(trip, name, value)
    return trip


class TripError(ValueError):
    """A trip request that cannot be right, e.g. a mistyped value in shared.py."""


# Typo or business failure? validate_trip() runs in the starters only (never in the world,
# the activities or the checks), before anything is booked, and refuses only values that
# cannot be meant: the wrong type, an empty or absurdly long text, spaces around a name,
# digits that are not the ASCII 0-9 (str.isdigit() accepts "４２" and "²"), a car or room
# type the travel world has never heard of ("ecomony", "SUV"), a stay of 0 or 10,000 nights.
# Everything a real customer could ask for goes through, and the world answers with a
# business error, which is what the exercises teach: a *known* car type that is sold out
# (exercise 02's "suv"), a well-formed card number with the wrong number of digits or a bad
# check digit (exercise 03's 15 digits), a declined card, a flight or hotel that does not
# exist. The checks build their trips themselves, so they can still ask for a "penthouse".
MAX_TEXT = 80  # characters: longer than any id, name or card number in the workbook
MAX_CARD_DIGITS = 19  # the longest card numbers issued; the bank (the world) wants 16
MAX_DAYS = 365
SHOWN = 40  # at most this many characters of a bad value are echoed back


def short(value: object) -> str:
    """``repr(value)``, cut to about SHOWN characters: a 1.6 MB mistake is not echoed whole."""
    import reprlib

    shortener = reprlib.Repr()
    shortener.maxstring = shortener.maxother = SHOWN
    shortener.maxlist = shortener.maxtuple = shortener.maxdict = shortener.maxset = 4
    return shortener.repr(value)


def _kind_name(value: object) -> str:
    return type(value).__name__


def validate_setting(name: str, value: object, kind: type) -> None:
    """A switch in shared.py that must be exactly ``kind`` (e.g. True/False, not "yes")."""
    if kind is bool and not isinstance(value, bool):
        raise TripError(
            f"in shared.py, {name} should be True or False (no quotes), "
            f"but it is {short(value)} ({_kind_name(value)})."
        )
    if not isinstance(value, kind):
        raise TripError(f"in shared.py, {name} should be a {kind.__name__}, but it is {short(value)}.")


def validate_count(name: str, value: object, *, most: int) -> None:
    """A switch in shared.py that counts something: a whole number from 0 to ``most``."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise TripError(
            f"in shared.py, {name} should be a whole number (like 2, no quotes), "
            f"but it is {short(value)} ({_kind_name(value)})."
        )
    if not 0 <= value <= most:
        raise TripError(f"in shared.py, {name} is {value}: use a number from 0 to {most}.")


def _known(kind: str) -> list[str]:
    """The car or room types the built-in travel world rents, in its own order."""
    from workbook import world

    rows, column = (world.CARS, 1) if kind == "car_type" else (world.HOTEL_ROOMS, 3)
    return list(dict.fromkeys(row[column] for row in rows))


NAMES = ("TASK_QUEUE", "WORKFLOW_ID")  # the names a Temporal call needs, as shared.py spells them


def validate_shared(shared) -> None:
    """The settings of an exercise's shared.py (a module, or None when none is loaded) that
    a student may edit, checked before a starter or a worker uses them: one short line
    that says which one to fix, not a traceback from deep inside the SDK."""
    if shared is None:
        return
    for name in NAMES:
        if not hasattr(shared, name):
            continue
        value = getattr(shared, name)
        if not isinstance(value, str):
            raise TripError(f'in shared.py, {name} should be text in quotes (like "saga-03"), but it is {short(value)} ({_kind_name(value)}).')
        if not value.strip():
            raise TripError(f"in shared.py, {name} is empty; give it a name in quotes, like \"saga-03\".")
        if value != value.strip() or not value.isprintable() or len(value) > MAX_TEXT:
            raise TripError(f"in shared.py, {name} is {short(value)}: use a short name without spaces around it.")
    if hasattr(shared, "TRIP"):
        validate_trip(shared.TRIP)


def validate_trip(trip: TripRequest) -> None:
    """Catch values that cannot be right before anything is booked, with one short line
    that says which setting to fix (usually in the exercise's shared.py)."""
    if not isinstance(trip, TripRequest):
        raise TripError(
            f"in shared.py, TRIP should be a trip, like example_trip(WORKFLOW_ID), but it is "
            f"{short(trip)} ({_kind_name(trip)})."
        )
    names = [f.name for f in fields(TripRequest)]
    for name in vars(trip):
        if name not in names:
            import difflib

            close = difflib.get_close_matches(name, names, n=1)
            guess = f" Did you mean `{close[0]}`?" if close else f" A trip has: {', '.join(names)}."
            raise TripError(f"in shared.py, a trip has no field `{name}`.{guess}")
    expected = {"nights": int, "rental_days": int}
    for name, value in vars(trip).items():
        kind = expected.get(name, str)
        if not isinstance(value, kind) or isinstance(value, bool):
            example = "3" if kind is int else '"4242424242424242"' if name == "card_number" else '"..."'
            raise TripError(
                f"in shared.py, {name} should be {'a whole number' if kind is int else 'text in quotes'} "
                f"(like {example}), but it is {short(value)} ({_kind_name(value)})."
            )
        if kind is int:
            if not 1 <= value <= MAX_DAYS:
                raise TripError(f"in shared.py, {name} is {short(value)}: use a number from 1 to {MAX_DAYS}.")
            continue
        if not value.strip():
            raise TripError(f"in shared.py, {name} is empty; give it a value.")
        if len(value) > MAX_TEXT:
            raise TripError(
                f"in shared.py, {name} is {len(value):,} characters long ({short(value)}): "
                "that cannot be right."
            )
        if value != value.strip() or not value.isprintable():
            raise TripError(f"in shared.py, {name} is {short(value)}: remove the spaces or invisible characters.")
        if name == "card_number":
            _validate_card_number(value)
        elif name in ("car_type", "room_type"):
            _validate_type(name, value)


def _validate_card_number(value: str) -> None:
    # Digits as on the card, in groups if you like ("4242 4242 4242 4242"); the length is
    # for the bank to judge (a 15-digit number is exercise 03's failing payment).
    digits = value.replace(" ", "")
    if "  " in value or not all(c in "0123456789" for c in digits):
        raise TripError(
            f"in shared.py, card_number is {short(value)}: use only the plain digits 0-9, "
            'like "4242424242424242".'
        )
    if len(digits) > MAX_CARD_DIGITS:
        raise TripError(
            f"in shared.py, card_number has {len(digits)} digits; a card number has 16 "
            f"(never more than {MAX_CARD_DIGITS})."
        )


def _validate_type(name: str, value: str) -> None:
    import difflib

    known = _known(name)
    if value in known:
        return
    close = difflib.get_close_matches(value.lower(), known, n=1, cutoff=0.6)
    what = name.replace("_", " ")
    advice = f"did you mean {close[0]!r}?" if close else "use " + ", ".join(known[:-1]) + f" or {known[-1]}."
    raise TripError(f"in shared.py, {name} is {short(value)}, which is not a {what} the travel world has: {advice}")
