"""Response models of the partner API: what ``/openapi.json`` promises each route answers.

One module per capability. The field names are the wire names of API.md (fixed:
add freely, rename nothing). Timestamps stay ISO 8601 strings as the domain
formats them, so a model never changes how a time is spelled on the wire.
"""
