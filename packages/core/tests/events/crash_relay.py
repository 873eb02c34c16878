"""A relay process that SIGKILLs itself mid-batch; the crash-recovery tests run it.

    python crash_relay.py DATABASE_URL AMQP_URL EXCHANGE before-publish|after-publish

The kill is real (no exception handling, no finally blocks, no transaction cleanup), which is the
point: whatever the relay had not committed must be recovered by the next relay.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal

from sqlalchemy import MetaData

from roadbed_core.db import make_engine
from roadbed_core.events import (
    CloudEvent,
    OutboxRelay,
    SqlAlchemySyncOutboxStore,
    define_outbox_table,
)
from roadbed_core.events.rabbitmq import RabbitMQBus


async def die(event: CloudEvent) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


async def main(database_url: str, amqp_url: str, exchange: str, stage: str) -> None:
    bus = RabbitMQBus(amqp_url, exchange=exchange)
    await bus.start()
    store = SqlAlchemySyncOutboxStore(make_engine(database_url), define_outbox_table(MetaData()))
    if stage == "before-publish":
        relay = OutboxRelay(store=store, bus=bus, before_publish=die)
    else:
        relay = OutboxRelay(store=store, bus=bus, after_publish=die)
    await relay.run_once()
    raise SystemExit("the relay survived its kill hook: nothing was pending?")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("database_url")
    parser.add_argument("amqp_url")
    parser.add_argument("exchange")
    parser.add_argument("stage", choices=["before-publish", "after-publish"])
    arguments = parser.parse_args()
    asyncio.run(
        main(arguments.database_url, arguments.amqp_url, arguments.exchange, arguments.stage)
    )
