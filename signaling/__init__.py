"""Signaling: socket.io namespaces, event schemas, sessions, queue and dispatcher."""
