"""The pure domain core: no I/O, no socket.io, no aiortc, no SQL."""
