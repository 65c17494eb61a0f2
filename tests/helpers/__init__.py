"""Builders shared by tests of several areas (models, images)."""
