"""Zendesk: the gateway interface, the Zenpy adapter and the in-memory fake."""
