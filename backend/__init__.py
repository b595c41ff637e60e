"""Guidepost: guided workflows for Zendesk agents."""

__version__ = "0.1.0"
