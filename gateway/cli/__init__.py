"""The ``ketenpoort`` command line."""
