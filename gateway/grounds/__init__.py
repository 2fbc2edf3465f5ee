"""Legal grounds per case and subject (API.md §2b): the person's consent and the like."""
