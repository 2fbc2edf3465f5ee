"""Kept so ``gateway.demo.people`` goes on working.

The data lives in :mod:`gateway.demodata.people`.
"""

from gateway.demodata.people import *  # noqa: F403
