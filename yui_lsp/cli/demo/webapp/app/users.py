"""Users of the shop."""

from __future__ import annotations

from dataclasses import dataclass

ROUTES = {"GET /users/{user_id}": "get_user", "GET /users": "list_users"}


@dataclass
class User:
    """Someone with an account."""

    user_id: int
    name: str
    email: str


_USERS = {1: User(1, "Ada", "ada@example.com"), 2: User(2, "Lin", "lin@example.com")}


def get_user(user_id: int) -> User | None:
    """The user with this id, or None."""
    return _USERS.get(user_id)


def list_users() -> list[User]:
    """Every user, by id."""
    # TODO: paginate once there are more than a handful of users.
    return [_USERS[key] for key in sorted(_USERS)]
