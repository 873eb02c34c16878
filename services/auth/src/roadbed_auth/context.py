"""Who is asking, from where: what every audited action records."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from roadbed_core.logs import current_request_id


@dataclass(frozen=True, slots=True)
class RequestContext:
    ip_address: str
    user_agent: str
    request_id: str

    @classmethod
    def from_request(cls, request: Request) -> RequestContext:
        # The direct peer: behind nginx, uvicorn/granian's proxy-headers handling sets it from
        # X-Forwarded-For for trusted proxies only, so a client cannot pick its own address.
        client = request.client.host if request.client else ""
        return cls(
            ip_address=client[:64],
            user_agent=request.headers.get("user-agent", "")[:512],
            request_id=current_request_id() or "",
        )
