"""The Django half of the outbox and inbox: add ``"roadbed_core.events.django"`` to INSTALLED_APPS.

The app label is ``roadbed_outbox``; ``migrate`` creates its two tables. Call
:func:`roadbed_core.events.django.outbox.record_event` inside ``transaction.atomic()``; run a
relay with :class:`roadbed_core.events.django.outbox.DjangoOutboxStore`. Nothing is imported here
so that listing the app does not import models before the registry is ready.
"""
