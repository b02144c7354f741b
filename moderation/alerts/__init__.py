"""Alerts: triggers decide (pure), the outbox keeps (storage), channels deliver, once.

triggers.py   which alerts newly queued comments or a backed-up queue cause
messages.py   what an alert says, in each channel's format
channels.py   webhook (generic, Slack, Mattermost, Teams) and email channels
outbox.py     the delivery loop: claim due alerts, send, mark delivered / failed / retry with backoff
"""
