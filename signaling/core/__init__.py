"""The pure domain core: the words of the service, sessions and their states, queues, the dispatcher.

Nothing here does I/O or knows of sockets, SQL, aiohttp or aiortc; everything
around it (signaling's application services and adapters, ``server``) imports
it, never the other way round (``tests/test_layers.py`` holds this).
"""
