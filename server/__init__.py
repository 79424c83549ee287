"""Lapak server: app factory, configuration, command line, storage and the media router."""
