"""Alerts for people: the message text, the channels that deliver it (webhooks, robots, e-mail), and the
``alerts run`` that ties rule checks, state and delivery together (docs/alerts.md)."""
