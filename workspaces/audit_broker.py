"""Handing audit events to the ``audit`` Celery queue (:func:`workspaces.audit.publish`'s side).

A message is the one ``store_audit_events.apply_async`` would send, built and sent by Celery's
own ``create_task_message`` and ``send_task_message``, through a pool of producers with short
timeouts. When the broker cannot take an event, publishing pauses for
``AUDIT_BROKER_RETRY_SECONDS`` and the caller writes the event itself (``audit.store_now``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from celery.utils import uuid as celery_uuid
from django.conf import settings
from kombu.pools import ProducerPool

from timetracker.broker import publishing_transport

logger = logging.getLogger(__name__)

_broker_paused_until = 0.0


def by_broker() -> bool:
    """Events go to the broker; not where Celery runs tasks in the caller (no broker to take them)."""
    from timetracker.celery import app

    return settings.AUDIT_DELIVERY == "celery" and not app.conf.task_always_eager


def publish_to_broker(payload: dict[str, Any]) -> bool:
    """True when the broker took the event; False (and a pause) when it could not."""
    global _broker_paused_until
    if time.monotonic() < _broker_paused_until:
        return False
    try:
        found = publisher()
        with found.pool.acquire(block=True, timeout=settings.AUDIT_PUBLISH_TIMEOUT_SECONDS) as producer:
            found.send(producer, payload)
    except Exception as exc:  # any broker failure: write the event here instead
        reset_publisher()  # drop connections that may be dead; the next try after the pause reconnects
        _broker_paused_until = time.monotonic() + settings.AUDIT_BROKER_RETRY_SECONDS
        logger.warning("audit broker unavailable, writing events in the request: %s", exc)
        return False
    return True


@dataclass(frozen=True)
class Publisher:
    """Sends ``audit.store_events`` messages through a pool of producers.

    A message is the one ``store_audit_events.apply_async`` sends (Celery's own
    ``create_task_message`` and ``send_task_message``, its signals included, to the queue
    ``CELERY_TASK_ROUTES`` names), without what ``apply_async`` adds for a caller that waits on a
    result or runs inside a task: the result object, the parent task's ids, routing again on every
    call. That was a third of a publish (bench/README.md, eighteenth round).
    """

    app: Any
    pool: Any
    task_name: str
    options: dict[str, Any]  # the route: the queue, and any exchange or routing key it sets

    def send(self, producer: Any, payload: dict[str, Any]) -> None:
        amqp = self.app.amqp
        message = amqp.create_task_message(
            celery_uuid(),
            self.task_name,
            (payload,),
            {},
            reply_to=self.app.thread_oid,
            create_sent_event=self.app.conf.task_send_sent_event,
            ignore_result=True,
            # The headers name the event instead of repeating it: Celery would otherwise
            # saferepr() the whole payload (IP, user agent, detail) into them, at about 0.4 ms a
            # call (bench/), and keep that copy wherever headers are logged.
            argsrepr=f"(<audit event {payload['action']} {payload['id']}>,)",
            kwargsrepr="{}",
        )
        amqp.send_task_message(producer, self.task_name, message, retry=False, **self.options)


_publishers: dict[str, Publisher] = {}


def publisher() -> Publisher:
    """The publisher for the configured broker: producers on a connection with short timeouts."""
    from timetracker.celery import app
    from workspaces.tasks import store_audit_events  # the task module imports this one

    url = str(app.conf.broker_url)
    publisher = _publishers.get(url)
    if publisher is None:
        timeout = settings.AUDIT_PUBLISH_TIMEOUT_SECONDS
        conn = app.connection_for_write(
            url,
            transport=publishing_transport(url),
            connect_timeout=timeout,
            transport_options={"socket_connect_timeout": timeout, "socket_timeout": timeout},
        )
        options = app.amqp.router.route({}, store_audit_events.name, task_type=store_audit_events)
        if options["queue"].exchange.type == "direct":
            # The message goes straight to the list the queue names: nothing to declare first,
            # where kombu would look the queue up in its declarations on every message. Other
            # exchanges need the queue bound to them, declared as Celery does.
            options["declare"] = []
        publisher = _publishers[url] = Publisher(
            app=app,
            pool=ProducerPool(conn.Pool(limit=app.pool.limit)),
            task_name=store_audit_events.name,
            options=options,
        )
    return publisher


def reset_publisher(*, resume: bool = False) -> None:
    """Close the publisher's broker connections; with ``resume``, end any pause too."""
    global _broker_paused_until
    if resume:
        _broker_paused_until = 0.0
    publishers = list(_publishers.values())
    _publishers.clear()
    for publisher in publishers:
        try:
            publisher.pool.connections.force_close_all()
        except Exception:  # closing a dead connection may fail; it is being dropped anyway
            logger.debug("closing an audit broker connection failed", exc_info=True)
