"""Rights of the person concerned (betrokkene): inzage, correctie and verzet.

Ketenpoort is the single contact point of the partnership (WGS / BGS art.
1.1): a request filed here counts for every joint controller, gets its legal
deadline from the covenant's ``rights`` block, is forwarded to the sources
concerned, and is decided with reasons by the responsible party. A pending or
upheld verzet restricts disclosure in the cases it names (a partner's: only
those), or — the person's own naming none — in all their cases in every
covenant (promise 1); a pending correctie marks the records it
contests, a granted one drops the gateway's copies of them.
"""
