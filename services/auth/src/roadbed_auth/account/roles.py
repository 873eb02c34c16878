"""Roles and what they may do (RBAC). Roles travel in the access token; services check them."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    STAFF = "staff"
    EDITOR = "editor"
    AUTHOR = "author"
    CUSTOMER = "customer"


#: What a self-registered account gets: it may shop and write on the blog.
DEFAULT_ROLES: tuple[Role, ...] = (Role.CUSTOMER, Role.AUTHOR)

ROLE_PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.ADMIN: frozenset(
        {"users:read", "users:write", "roles:write", "clients:write", "keys:rotate", "audit:read"}
    ),
    Role.STAFF: frozenset({"users:read", "catalog:write", "orders:manage", "tasks:moderate"}),
    Role.EDITOR: frozenset({"articles:moderate", "comments:moderate"}),
    Role.AUTHOR: frozenset({"articles:write"}),
    Role.CUSTOMER: frozenset({"orders:place"}),
}


def permissions_of(roles: set[str] | frozenset[str] | list[str]) -> frozenset[str]:
    granted: set[str] = set()
    for name in roles:
        if name in Role.__members__.values():
            granted |= ROLE_PERMISSIONS[Role(name)]
    return frozenset(granted)
