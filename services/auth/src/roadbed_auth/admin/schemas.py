"""Admin API models."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from roadbed_auth.account.schemas import UserRead


class AdminUserRead(UserRead):
    status: str


class UserPageRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"items": [], "next_cursor": "WyIyMDI2LTExLTI1VDEyOjAwOjAwKzAwOjAwIiwiLi4uIl0"}
            ]
        }
    )

    items: list[AdminUserRead]
    #: Pass as ``cursor`` for the next page; ``null`` on the last page.
    next_cursor: str | None
