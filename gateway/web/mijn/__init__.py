"""/mijn: the portal of the person concerned (inzage, correctie, verzet), in Dutch."""
