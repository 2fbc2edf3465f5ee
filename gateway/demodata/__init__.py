"""Synthetic people (test-range BSNs) shared by the demo stack and the dev IdP's logins.

Below the web pages and the demo launcher alike: it imports only subjects and
connector models, so the dev IdP can offer the demo people without importing
the demo that starts the gateway.
"""
