"""Widgets, one subpackage per screen area."""
