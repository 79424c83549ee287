"""The kiosk: the booth page served to browsers, and a headless kiosk client in Python."""
