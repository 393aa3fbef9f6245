"""The audit: what is still held or charged for trips that never got confirmed.

An orphan is a held reservation, or a charge not refunded, that belongs to a trip that is
not confirmed. Zero orphans is the success criterion of the whole workbook.

A double booking is the other way to leave work behind: a confirmed trip that holds more
than one reservation of one kind (two hotel rooms), or more than one charge not refunded.
Its newest one is what the trip's itinerary names; the older ones are the extras counted
here (a step retried under a new idempotency key booked again). A clean world has neither.

What a trip flagged for manual attention still holds (an undo the provider refused) is
listed apart, as flagged: a person has it in hand, so it is not a silent orphan.

The online shop (exercise 13, world.orders) is audited the same way: stock reserved,
money authorised or captured, or a pickup booked for an order that is not complete (its
parcel not handed to the courier) is an orphan, of kind "stock", "authorisation",
"capture" or "pickup"; a flagged order's are listed as flagged.
"""

from __future__ import annotations

import html
from dataclasses import asdict, dataclass, field

from workbook import world


@dataclass(frozen=True)
class Orphan:
    trip_id: str
    kind: str  # "flight", "hotel", "car" or "charge"
    id: str
    item: str
    amount_cents: int


@dataclass
class AuditReport:
    orphans: list[Orphan] = field(default_factory=list)
    confirmed_trips: int = 0
    double_bookings: list[Orphan] = field(default_factory=list)  # the extras, see above
    flagged: list[Orphan] = field(default_factory=list)  # held by trips a person settles
    complete_orders: int = 0  # the online shop's (exercise 13)
    orders: int = 0  # orders that hold or held anything in the shop (exercise 13)

    @property
    def clean(self) -> bool:
        return not self.orphans and not self.double_bookings

    @property
    def title(self) -> str:
        parts = [f"{len(self.orphans)} orphan(s)"] if self.orphans else []
        parts += [f"{len(self.double_bookings)} double booking(s)"] if self.double_bookings else []
        parts += [f"{len(self.flagged)} flagged for manual attention"] if self.flagged else []
        return "Audit: " + ", ".join(parts)

    def _rows(self):
        """(trip, what, id, item, amount) of every orphan, then of every extra booking."""
        for o in self.orphans:
            yield o.trip_id, o.kind, o.id, o.item, dollars(o.amount_cents)
        for o in self.double_bookings:
            yield o.trip_id, f"extra {o.kind}", o.id, o.item, dollars(o.amount_cents)
        for o in self.flagged:
            yield o.trip_id, f"flagged {o.kind}", o.id, o.item, dollars(o.amount_cents)

    @property
    def reservations(self) -> list[Orphan]:
        return [o for o in self.orphans if o.kind != "charge"]

    @property
    def charges(self) -> list[Orphan]:
        return [o for o in self.orphans if o.kind == "charge"]

    @property
    def charged_cents(self) -> int:
        return sum(o.amount_cents for o in self.charges)

    @property
    def order_money_cents(self) -> int:
        """Money authorised or captured for orders that are not complete."""
        return sum(o.amount_cents for o in self.orphans if o.kind in ("authorisation", "capture"))

    def to_dict(self) -> dict:
        return {
            "orphans": len(self.orphans),
            "reservations": len(self.reservations),
            "charges": len(self.charges),
            "charged_cents": self.charged_cents,
            "confirmed_trips": self.confirmed_trips,
            "details": [asdict(o) for o in self.orphans],
            "double_bookings": len(self.double_bookings),
            "double_booking_details": [asdict(o) for o in self.double_bookings],
            **({"flagged": len(self.flagged), "flagged_details": [asdict(o) for o in self.flagged]} if self.flagged else {}),
            **({"complete_orders": self.complete_orders, "order_money_cents": self.order_money_cents}
               if self.complete_orders or self.order_money_cents else {}),
        }

    def __rich__(self):
        from rich.table import Table

        if self.clean and not self.flagged:
            return (
                "[bold green]Audit: zero orphans.[/] Nothing is held or charged for a trip "
                f"that is not confirmed ({self.confirmed_trips} confirmed)." + self._orders_line()
            ) if not self.orders or self.confirmed_trips else (
                "[bold green]Audit: zero orphans.[/] Nothing is reserved, authorised, captured or booked "
                f"for an order that is not complete ({self.complete_orders} complete)."
            )
        table = Table(title=self.title, title_style="bold red" if not self.clean else "bold yellow")
        for column in ("trip", "what", "id", "item", "amount"):
            table.add_column(column, justify="right" if column == "amount" else "left")
        for row in self._rows():
            table.add_row(*row)
        captions = [f"Charged and not refunded: {dollars(self.charged_cents)}"] if self.charges else []
        if self.order_money_cents:
            captions.append(f"Authorised or captured for orders not complete: {dollars(self.order_money_cents)}")
        if self.double_bookings:
            extra = dollars(sum(o.amount_cents for o in self.double_bookings))
            captions.append(f"Booked again for confirmed trips: {extra}")
        if self.flagged:
            captions.append("Flagged: a person settles these; not orphans")
        table.caption = "\n".join(captions) or None
        return table


    def _orders_line(self) -> str:
        """The online shop's half of a clean audit, when it has complete orders."""
        if not self.orders:
            return ""
        return f" Nor for an order that is not complete ({self.complete_orders} complete)."

    def __str__(self) -> str:
        if self.clean and not self.flagged:
            return "Audit: zero orphans."
        lines = [self.title]
        lines += [f"  {trip}  {what:<6}  {id}  {item}  {amount}" for trip, what, id, item, amount in self._rows()]
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        if self.clean and not self.flagged:
            return "<b style='color:#1a7f37'>Audit: zero orphans.</b>"
        rows = "".join(
            f"<tr><td>{trip}</td><td>{what}</td><td>{id}</td><td>{html.escape(item)}</td>"
            f"<td style='text-align:right'>{amount}</td></tr>"
            for trip, what, id, item, amount in self._rows()
        )
        return (
            f"<b style='color:#cf222e'>{self.title}</b>"
            "<table><tr><th>trip</th><th>what</th><th>id</th><th>item</th><th>amount</th></tr>"
            f"{rows}</table>"
        )


def dollars(cents: int) -> str:
    return f"${cents / 100:,.2f}"


def audit(trip_id: str | None = None) -> AuditReport:
    """Read the world and list every orphan (of one trip, when ``trip_id`` is given)."""
    confirmed = world.confirmed_trips()
    if trip_id is not None:
        confirmed &= {trip_id}
    flagged = set(world.flags(trip_id))
    orphans = [
        Orphan(r.trip_id, r.kind, r.id, r.item, r.amount_cents)
        for r in world.reservations(trip_id)
        if r.status in world.HOLDING and r.trip_id not in confirmed
    ]
    orphans += [
        Orphan(p.trip_id, "charge", p.id, "card payment", p.amount_cents)
        for p in world.payments(trip_id)
        if p.status == "charged" and p.trip_id not in confirmed
    ]
    complete = world.orders.complete_orders()
    if trip_id is not None:
        complete &= {trip_id}
    shop = world.orders.holdings(trip_id)
    orphans += [
        Orphan(h.order_id, h.kind, h.id, h.item, h.amount_cents)
        for h in shop
        if h.status in world.orders.HOLDING[h.kind] and h.order_id not in complete
    ]
    return AuditReport(
        orphans=[o for o in orphans if o.trip_id not in flagged],
        confirmed_trips=len(confirmed),
        double_bookings=_double_bookings(trip_id, confirmed),
        flagged=[o for o in orphans if o.trip_id in flagged],
        complete_orders=len(complete),
        orders=len({h.order_id for h in shop}),
    )


def _double_bookings(trip_id: str | None, confirmed: set[str]) -> list[Orphan]:
    """Of each confirmed trip, the held reservations of one kind and the charges beyond
    the newest one (which the itinerary names), oldest first."""
    kept: dict[tuple[str, str], list[Orphan]] = {}
    for r in world.reservations(trip_id):
        if r.status in world.HOLDING and r.trip_id in confirmed:
            kept.setdefault((r.trip_id, r.kind), []).append(Orphan(r.trip_id, r.kind, r.id, r.item, r.amount_cents))
    for p in world.payments(trip_id):
        if p.status == "charged" and p.trip_id in confirmed:
            kept.setdefault((p.trip_id, "charge"), []).append(Orphan(p.trip_id, "charge", p.id, "card payment", p.amount_cents))
    return [extra for group in kept.values() for extra in group[:-1]]
