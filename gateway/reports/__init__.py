"""Figures for the stuurgroep and the privacy officer, the AVG art. 30 register, and the
Logboek Dataverwerkingen export. No HTTP here: routers and the CLI call the desk."""
