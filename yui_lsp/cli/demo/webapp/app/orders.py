"""Orders placed by users."""

from __future__ import annotations

from dataclasses import dataclass

from .users import get_user

ROUTES = {"GET /orders/{order_id}": "order_summary"}


@dataclass
class Order:
    """One order of one user."""

    order_id: int
    user_id: int
    total_cents: int


_ORDERS = {10: Order(10, 1, 4200), 11: Order(11, 2, 990)}


def order_summary(order_id: int) -> str:
    """A one-line description of an order, with its buyer's name."""
    order = _ORDERS[order_id]
    user = get_user(order.user_id)
    # TODO: format the total with the user's currency.
    buyer = user.name if user else "unknown"
    return f"order {order.order_id} by {buyer}: {order.total_cents / 100:.2f}"
