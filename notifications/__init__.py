"""Outgoing notifications: the transactional outbox, message builders and senders."""
