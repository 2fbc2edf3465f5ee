"""The embedded demo's partner systems: synthetic people and their source registrations.

Nothing here runs in production; it gives `ketenpoort demo` and the tests real
HTTP sources to talk to.
"""
