"""The audit: what is still held or charged for trips that never got confirmed.

An orphan is a held reservation, or a charge not refunded, that belongs to a trip that is
not confirmed. Zero orphans is the success criterion of the whole workbook.
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

    @property
    def clean(self) -> bool:
        return not self.orphans

    @property
    def reservations(self) -> list[Orphan]:
        return [o for o in self.orphans if o.kind != "charge"]

    @property
    def charges(self) -> list[Orphan]:
        return [o for o in self.orphans if o.kind == "charge"]

    @property
    def charged_cents(self) -> int:
        return sum(o.amount_cents for o in self.charges)

    def to_dict(self) -> dict:
        return {
            "orphans": len(self.orphans),
            "reservations": len(self.reservations),
            "charges": len(self.charges),
            "charged_cents": self.charged_cents,
            "confirmed_trips": self.confirmed_trips,
            "details": [asdict(o) for o in self.orphans],
        }

    def __rich__(self):
        from rich.table import Table

        if self.clean:
            return (
                "[bold green]Audit: zero orphans.[/] Nothing is held or charged for a trip "
                f"that is not confirmed ({self.confirmed_trips} confirmed)."
            )
        table = Table(title=f"Audit: {len(self.orphans)} orphan(s)", title_style="bold red")
        for column in ("trip", "what", "id", "item", "amount"):
            table.add_column(column, justify="right" if column == "amount" else "left")
        for o in self.orphans:
            table.add_row(o.trip_id, o.kind, o.id, o.item, dollars(o.amount_cents))
        if self.charges:
            table.caption = f"Charged and not refunded: {dollars(self.charged_cents)}"
        return table


    def __str__(self) -> str:
        if self.clean:
            return "Audit: zero orphans."
        lines = [f"Audit: {len(self.orphans)} orphan(s)"]
        lines += [f"  {o.trip_id}  {o.kind:<6}  {o.id}  {o.item}  {dollars(o.amount_cents)}" for o in self.orphans]
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        if self.clean:
            return "<b style='color:#1a7f37'>Audit: zero orphans.</b>"
        rows = "".join(
            f"<tr><td>{o.trip_id}</td><td>{o.kind}</td><td>{o.id}</td><td>{html.escape(o.item)}</td>"
            f"<td style='text-align:right'>{dollars(o.amount_cents)}</td></tr>"
            for o in self.orphans
        )
        return (
            f"<b style='color:#cf222e'>Audit: {len(self.orphans)} orphan(s)</b>"
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
    orphans = [
        Orphan(r.trip_id, r.kind, r.id, r.item, r.amount_cents)
        for r in world.reservations(trip_id)
        if r.status == "held" and r.trip_id not in confirmed
    ]
    orphans += [
        Orphan(p.trip_id, "charge", p.id, "card payment", p.amount_cents)
        for p in world.payments(trip_id)
        if p.status == "charged" and p.trip_id not in confirmed
    ]
    return AuditReport(orphans=orphans, confirmed_trips=len(confirmed))
