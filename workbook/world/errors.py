"""What the travel world raises. A ``BookingError`` is a business answer (retrying will
not help); a ``ServiceUnavailable`` is an outage (retrying will)."""

from __future__ import annotations


class WorldError(Exception):
    """Anything the travel world refuses to do."""


class BookingError(WorldError):
    """A business answer: asking again will get the same answer."""


class NoAvailability(BookingError):
    """No seat, room or car of that kind is left."""


class UnknownItem(BookingError):
    """No such flight, hotel, room type or car type."""


class InvalidCardNumber(BookingError):
    """The card number is malformed (length or check digit)."""


class CardDeclined(BookingError):
    """The card is valid but the bank said no."""


class Refused(BookingError):
    """The provider says no to an undo, for good: a person has to settle it."""


class ServiceUnavailable(WorldError):
    """An outage: the same call may well succeed if you try again."""


class ReplyLost(ServiceUnavailable):
    """The work was done and committed, but the answer never reached the caller."""


def kinds_of(error: type[WorldError]) -> set[str]:
    """The names of ``error`` and of every kind of it: what an activity failure's type reads
    when the world raised one of them (Temporal carries the class name, not the class)."""
    names, todo = set(), [error]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return names
