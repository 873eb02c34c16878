"""``roadbed relay``: the production relay process publishes committed outbox rows to RabbitMQ."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import aio_pika
from sqlalchemy import select
from typer.testing import CliRunner

from roadbed.cli import app
from roadbed_core.db import make_engine, make_sessionmaker, sync_unit_of_work, upgrade
from roadbed_core.events.envelope import CloudEvent, new_event
from roadbed_core.events.outbox import add_event
from roadbed_core.events.rabbitmq import RabbitMQBus
from roadbed_tasks.lifecycle import lifecycle as tasks_lifecycle
from roadbed_tasks.tables import outbox


def test_relay_without_a_broker_is_a_clear_error() -> None:
    result = CliRunner().invoke(app, ["relay", "tasks"])

    assert result.exit_code == 2
    assert "ROADBED_TASKS_AMQP_URL is not set" in result.output


async def test_relay_process_publishes_committed_events_exactly_as_written(
    amqp_url: str, unique_name: str, tmp_path: Path
) -> None:
    database = f"sqlite:///{tmp_path}/tasks.db"
    upgrade(tasks_lifecycle.migrations, database)
    exchange = f"roadbed.test.{unique_name}"
    received: list[CloudEvent] = []
    arrived = asyncio.Event()

    async def handler(event: CloudEvent) -> None:
        received.append(event)
        arrived.set()

    consumer = RabbitMQBus(amqp_url, exchange=exchange)
    consumer.subscribe(f"relay-test-{unique_name}", ["roadbed.tasks.#"], handler)
    await consumer.start()
    event = new_event(
        type="roadbed.tasks.task.created.v1", source="/tasks", data={"title": "ship it"}
    )
    engine = make_engine(database)
    with sync_unit_of_work(make_sessionmaker(engine)) as session:
        add_event(session, event, table=outbox)

    env = {
        **os.environ,
        "ROADBED_TASKS_DATABASE_URL": database,
        "ROADBED_TASKS_AMQP_URL": amqp_url,
        "ROADBED_TASKS_AMQP_EXCHANGE": exchange,
    }
    relay = subprocess.Popen(
        [sys.executable, "-m", "roadbed", "relay", "tasks"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        await asyncio.wait_for(arrived.wait(), timeout=30)
    finally:
        relay.send_signal(signal.SIGTERM)
        returncode = relay.wait(timeout=30)
        queues = consumer.declared_queue_names
        await consumer.close()
        connection = await aio_pika.connect(amqp_url)
        async with connection:
            channel = await connection.channel()
            for queue in queues:
                await channel.queue_delete(queue)
            await channel.exchange_delete(exchange)

    with engine.connect() as connection:
        published_at = connection.execute(select(outbox.c.published_at)).scalar_one()
    engine.dispose()
    assert returncode == 0, relay.stdout.read().decode() if relay.stdout else ""
    assert [(e.id, e.type, e.data) for e in received] == [
        (event.id, event.type, {"title": "ship it"})
    ]
    assert published_at is not None
