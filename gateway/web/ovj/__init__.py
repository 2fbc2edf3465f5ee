"""/ovj: the Officier van Justitie reviews and decides consent requests (ISSUE 6)."""
