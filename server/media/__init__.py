"""The media router: every peer connection ends here; packets are forwarded, not transcoded."""
