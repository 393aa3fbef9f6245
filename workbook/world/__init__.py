"""The travel world: the airline, the hotels, the car rental and the card processor.

Every exercise books against this one simulated "outside world". It lives in a SQLite
file, so a worker process writes it while a starter, a test or the audit reads it.

Rules the exercises rely on:

* Every booking and charge takes an idempotency ``key``: repeating a call with the same
  key returns the same reservation, never a second one.
* Every cancel and refund takes the same key, is safe to repeat, and is a no-op when
  there is nothing to undo (so a compensation may run even if the step never happened).
* Business errors (no seat, unknown hotel, invalid card...) are ``BookingError``s:
  retrying will not help. Injected outages are ``ServiceUnavailable``: retrying will.
* Faults are injected on purpose and deterministically (see ``inject``).

Package layout: one module per service (flights, hotels, cars, cards for payments,
trips), with faults, the store (the SQLite file) and reading. A second domain, the online
shop of exercise 13 (stock, authorisations and captures, pickups), is ``world.orders``. Import the package, not
the modules: ``from workbook import world; world.book_flight(...)``.
"""

from __future__ import annotations

from workbook.world.errors import (  # noqa: F401
    kinds_of,
    WorldError,
    BookingError,
    NoAvailability,
    UnknownItem,
    InvalidCardNumber,
    CardDeclined,
    Refused,
    ServiceUnavailable,
    ReplyLost,
)
from workbook.world.store import (  # noqa: F401
    REPO_ROOT,
    DB_ENV_VAR,
    db_path,
    SCHEMA,
    FLIGHTS,
    HOTEL_ROOMS,
    CARS,
    reset,
    load_inventory,
)
from workbook.world.faults import (  # noqa: F401
    FAULT_KINDS,
    SLOW_SECONDS,
    FAULT_SCOPE,
    OPERATIONS,
    inject,
    clear_faults,
    slowness,
    release,
)
from workbook.world.holds import Reservation, PREFIX, HOLDING  # noqa: F401
from workbook.world.flights import book_flight, cancel_flight  # noqa: F401
from workbook.world.hotels import book_hotel, cancel_hotel  # noqa: F401
from workbook.world.cars import book_car, cancel_car, rents_car  # noqa: F401
from workbook.world.partner import PARTNER, book_partner_car, cancel_partner_car, issue_tickets, tickets  # noqa: F401
from workbook.world.cards import DECLINED_CARD, Payment, validate_card, charge_card, refund  # noqa: F401
from workbook.world.trips import (  # noqa: F401
    flag_for_attention,
    store_request,
    stored_request,
    flags,
    trip_total,
    confirm_trip,
    send_email,
    award_points,
)
from workbook.world.reading import (  # noqa: F401
    reservations,
    payments,
    is_confirmed,
    journal,
    keys,
    confirmed_trips,
    available,
)
from workbook.world import orders  # noqa: F401  (the online shop, exercise 13: world.orders.reserve_stock(...))
from workbook.world.status import (  # noqa: F401
    Upgrade,
    booking,
    confirm_booking,
    left_after,
    set_available,
    upgrade_room,
    upgrades,
)
