"""The agent console: the web console page, and a headless agent client in Python."""
