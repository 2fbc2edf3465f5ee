"""One glossary: the Dutch word for every code the gateway shows a person.

Codes (``pending_consent``, ``not_participant``, ``forward_forwarded``) stay in
the API, the audit log and the CSV's machine columns; people read the Dutch
label. Every page and the CSV export look labels up here, so one code never has
two Dutch names. ``tests/web/test_glossary.py`` walks every code the gateway
can emit (enums, ``Literal`` types and the string constants at every
``outcome=``/``reason=``) and fails when one has no label here.

A lookup of an unknown code returns the code itself: the browser suite greps
every page for snake_case and so catches a code that slipped past the glossary.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

Domain = str

KIND: Final[Mapping[str, str]] = MappingProxyType(
    {
        "decision": "Besluit",
        "disclosure": "Verstrekking",
        "consent": "Toestemming OvJ",
        "case": "Casus",
        "rights": "Rechten betrokkene",
        "deletion": "Verwijdering",
        "key": "Sleutel",
        "auth": "Toegang geweigerd",
        "audit": "Inzage in het log",
    }
)

# What happened: the ``outcome`` of an audit entry (and of a source answer).
OUTCOME: Final[Mapping[str, str]] = MappingProxyType(
    {
        "ok": "Verstrekt",
        "correctie_executed": "Correctie uitgevoerd",
        "executed": "Uitgevoerd",
        "extended": "Termijn verlengd",
        "informed": "Betrokkene geïnformeerd",
        "not_informed": "Betrokkene (nog) niet geïnformeerd",
        "source_answered": "Bron heeft geantwoord",
        "withheld": "Achtergehouden",
        "permit": "Toegestaan",
        "permitted": "Toegestaan",
        "deny": "Geweigerd",
        "denied": "Geweigerd",
        "needs_consent": "Toestemming OvJ nodig",
        "pending_consent": "Wacht op toestemming OvJ",
        "unavailable": "Bron niet bereikbaar",
        "failed": "Mislukt",
        "not_found": "Niet gevonden bij de bron",
        "requested": "Aangevraagd",
        "read": "Gelezen",
        "created": "Aangemaakt",
        "rotated": "Vervangen",
        "widened": "Uitgebreid",
        "changed": "Gewijzigd",
        "granted": "Verleend",
        "partially_granted": "Gedeeltelijk toegewezen",
        "refused": "Geweigerd",
        "revoked": "Ingetrokken",
        "expired": "Verlopen",
        "narrowed": "Beperkt",
        "withdrawn": "Ingetrokken",
        "filed": "Ingediend",
        "decided": "Beslist",
        "forwarded": "Doorgestuurd",
        "inzage_shown": "Inzage getoond",
        "correctie_granted": "Correctie toegewezen",
        "certificate": "Vernietigingsverklaring",
        "source_deleted": "Verwijderd bij de bron",
        "mirror_opened": "Casus overgenomen van ander ZVH",
        "mirror_phase_changed": "Fase overgenomen van ander ZVH",
        "mirror_reused": "Bestaande casus gebruikt",
        "open": "Open",
        "closed": "Gesloten",
        "phase_changed": "Fase gewijzigd",
        "opened": "Geopend",
        "reused": "Hergebruikt",
        "pending": "In behandeling",
        "viewed": "Bekeken",
        "forward_forwarded": "Verzoek doorgestuurd naar de bron",
        "forward_failed": "Doorsturen mislukt",
        "forward_unsupported": "Handmatig door te geven aan de bron",
        "peer_outcome": "Besluit van het andere ZVH ontvangen",
        # cases: referral, triage, household (wf-cases)
        "participant_added": "Deelnemer toegevoegd",
        "subject_added": "Persoon toegevoegd aan de casus",
        "triaged": "Triage besloten",
    }
)

# Why: the ``reason`` of an audit entry, a refusal or an unavailable source.
REASON: Final[Mapping[str, str]] = MappingProxyType(
    {
        "already_extended": "Termijn is al eens verlengd",
        "answer_refused": "Antwoord van de bron geweigerd",
        "execution_refused": "Uitvoering niet geaccepteerd",
        "extension_refused": "Verlenging niet toegestaan",
        "first_term_passed": "Eerste termijn is al verstreken",
        "ground_and_review_required": "Grond en herbeoordelingsdatum verplicht",
        "how_and_at_required": "Wijze en moment van informeren verplicht",
        "late": "Te laat",
        "mixed": "Gemengd",
        "not_later": "Niet later dan toegestaan",
        "not_own_data": "Niet de eigen gegevens van de partij",
        "not_source_of_category": "Partij is geen bron van deze categorie",
        "notice_refused": "Vastlegging informatieplicht geweigerd",
        "representative_not_allowed": "Vertegenwoordiger mag dit niet",
        "review_in_past": "Herbeoordelingsdatum ligt in het verleden",
        "rights_request_not_pending": "Verzoek is niet meer in behandeling",
        "too_long": "Langer dan het convenant toestaat",
        "withholding_until": "Achterhouden tot",
        # policy decision (gateway.policy.decision.Reason)
        "convenant_inactive": "Convenant niet actief",
        "purpose_mismatch": "Doel past niet bij de casus",
        "not_participant": "Geen deelnemer aan de casus",
        "peer_gateway": "Een ander ZVH dient verzoeken alleen in via de federatie-koppeling",
        "case_closed": "Casus gesloten",
        "unknown_source": "Onbekende bron",
        "phase": "Niet toegestaan in deze fase",
        "no_rule": "Geen regel in het convenant",
        "unknown_category": "Onbekende categorie",
        "objection": "Bezwaar (verzet) van betrokkene",
        "consent_required": "Toestemming OvJ vereist",
        "permitted": "Toegestaan volgens het convenant",
        "subject_role": "Niet toegestaan voor deze rol in de casus",
        "consent_refused": "Toestemming eerder geweigerd",
        "ground_required": "Grondslag vereist",
        # source answers
        "ok": "Verstrekt",
        "denied": "Geweigerd",
        "pending_consent": "Wacht op toestemming OvJ",
        "not_found": "Niet gevonden bij de bron",
        "unavailable": "Bron niet bereikbaar",
        "cached_copy": "Bewaarde kopie gebruikt",
        "consent_revoked": "Toestemming OvJ ingetrokken",
        "contested": "Achtergehouden: juistheid betwist (correctieverzoek loopt)",
        "subject_unknown": "Persoon onbekend bij de bron",
        "timeout": "Bron antwoordde niet op tijd",
        "malformed": "Onleesbaar antwoord van de bron",
        "connect": "Bron niet bereikbaar",
        "database": "Databasefout bij de bron",
        "unauthorized": "Bron weigerde de toegang",
        "bad_status": "Foutmelding van de bron",
        "too_large": "Antwoord van de bron te groot",
        "peer_unavailable": "Ander ZVH niet bereikbaar",
        "peer_timeout": "Ander ZVH antwoordde niet op tijd",
        "peer_unreachable": "Ander ZVH niet bereikbaar",
        "one_hop": "Verzoek van een ander ZVH gaat niet verder naar een derde ZVH",
        "peer_one_hop": "Verzoek van een ander ZVH gaat niet verder naar een derde ZVH",
        "peer_region": "Inzage vraagt u bij het andere ZVH zelf aan",
        "peer_inzage_not_forwarded": "Inzage vraagt u bij het andere ZVH zelf aan",
        "peer_no_scope": "Geen convenant of doel om het andere ZVH te vragen",
        "peer_request_conflict": "Ander ZVH stuurde hetzelfde verzoeknummer voor iets anders",
        "unsupported": "Niet ondersteund door de bron",
        "several": "Meerdere redenen",
        "no_connector": "Geen koppeling met de bron",
        # token and role refusals
        "replay": "Inlogbewijs al eerder gebruikt",
        "bad_signature": "Ongeldige handtekening",
        "unknown_client": "Onbekend systeem",
        "bad_algorithm": "Algoritme niet toegestaan",
        "not_a_party": "Geen partij van het convenant",
        "no_matching_key": "Geen geregistreerde sleutel",
        "ambiguous_key": "Meerdere sleutels passen",
        "keys_unavailable": "Sleutels niet beschikbaar",
        "assertion_too_large": "Inlogbewijs te groot",
        "client_id_mismatch": "Systeem-id klopt niet",
        "claims_invalid": "Ongeldige gegevens in het inlogbewijs",
        "malformed_assertion": "Onleesbaar inlogbewijs",
        "invalid_request": "Ongeldig verzoek",
        "invalid_client": "Onbekend of ongeldig systeem",
        "invalid_grant": "Ongeldige toekenning",
        "unauthorized_client": "Systeem niet gemachtigd",
        "unsupported_grant_type": "Soort toekenning niet ondersteund",
        "invalid_scope": "Ongeldige reikwijdte",
        "role_missing": "Rol ontbreekt",
        "role_revoked": "Rol ingetrokken",
        "csrf": "Formulier verlopen of onecht",
        "not_om": "Geen Officier van Justitie",
        "other_covenant": "Ander convenant",
        "not_competent": "Niet bevoegd voor dit verzoek",
        # cases, federation
        "convenant_mismatch": "Ander convenant dan de casus",
        "not_case_opener": "Mag geen casus openen",
        "not_federation_party": "Geen partij in de samenwerking tussen ZVH's",
        "batch_too_large": "Te veel personen in één verzoek",
        # case workflow, households, grounds and motivation
        "closure_reason": "Reden van sluiten vereist",
        "duplicate_subject": "Persoon staat dubbel in het verzoek",
        "subject_exists": "Persoon hoort al bij de casus",
        "one_hoofdpersoon": "Eén hoofdpersoon per casus",
        "unknown_subject": "Onbekende persoon in de casus",
        "phase_transition": "Deze faseovergang is niet toegestaan",
        "triage_decided": "Triage al besloten",
        "ground_invalid": "Ongeldige grondslag",
        "ground_withdrawn": "Grondslag ingetrokken",
        "withdrawn_by_person": "Ingetrokken door betrokkene",
        # a recorded ground's audit entry names its kind as the reason
        "toestemming_betrokkene": "Toestemming van de betrokkene",
        "conflict_van_plichten": "Conflict van plichten",
        "wettelijke_grondslag": "Wettelijke grondslag",
        "motivation_required": "Motivering vereist",
        "motivation_code": "Onbekende motiveringscode",
        "motivation_changed": "Motivering gewijzigd",
        # problem slugs a refusal falls back to (snake case)
        "audit_unavailable": "Log niet beschikbaar",
        "bad_request": "Ongeldig verzoek",
        "case_binding": "Niet gebonden aan de casus",
        "conflict": "Conflict",
        "consent_already_decided": "Al beslist",
        "consent_categories_required": "Kies minstens één categorie",
        "consent_not_competent": "Niet bevoegd voor dit verzoek",
        "consent_not_narrower": "Niet ruimer dan gevraagd",
        "consent_not_revocable": "Kan niet worden ingetrokken",
        "consent_request_changed": "Verzoek gewijzigd",
        "consent_validity": "Ongeldige geldigheidsduur",
        "consent_withheld_until": "Ongeldige uitsteldatum",
        "covenant_binding": "Convenantbinding geldt niet meer",
        "federation_refused": "Geweigerd door ander ZVH",
        "forbidden": "Geen toegang",
        "internal": "Interne fout",
        "malformed_json": "Onleesbaar verzoek",
        "method_not_allowed": "Methode niet toegestaan",
        "not_acceptable": "Antwoordformaat niet beschikbaar",
        "not_responsible": "Niet verantwoordelijk",
        "not_this_source": "Niet deze bron",
        "payload_too_large": "Verzoek te groot",
        "rights_request_decided": "Verzoek al beslist",
        "rights_request_refused": "Verzoek niet aangenomen",
        "subject_erased": "Persoonsgegevens gewist",
        "too_many_requests": "Te veel verzoeken",
        "unknown_ids": "Onbekende bron of categorie",
        "unprocessable": "Verzoek niet te verwerken",
        "unsupported_media_type": "Soort inhoud niet ondersteund",
        "validation": "Ongeldige invoer",
        # rights filings
        "case_unknown": "Casus onbekend",
        "covenant_ambiguous": "Convenant niet eenduidig",
        "covenant_unknown": "Convenant onbekend",
        "no_case_named": "Geen casus genoemd",
        "not_covenant_party": "Geen partij van het convenant",
        "source_not_in_case": "Bron hoort niet bij de casus",
        "subject_mismatch": "Persoon hoort niet bij de casus",
        "subject_missing": "Persoon ontbreekt",
        "invalid_bsn": "Ongeldig BSN",
        "not_self": "Niet de eigen gegevens",
        "correctie_granted": "Correctie toegewezen",
        # consent changes
        "categories_added": "Categorieën toegevoegd",
        "case_phase_changed": "Fase van de casus gewijzigd",
        "valid_until_passed": "Geldigheid verlopen",
        # retention rules
        "withholdings": "Uitstel van inzage",
        "partner_withholdings": "Uitstel van inzage door een bron",
        "copies": "Bewaarde kopieën",
        "replay_store": "Gebruikte inlogbewijzen",
        "copy_drops": "Verwijdermerken van kopieën",
        "consents": "Toestemmingen OvJ",
        "case_after_close": "Casus na sluiten",
        "after_last_contact": "Na laatste contact",
        "rights_requests": "Verzoeken van betrokkenen",
        "criminal_log": "Strafrechtelijk log",
        "orphan_subject_keys": "Losse persoonssleutels",
        "source_deletions": "Verwijderingen bij bronnen",
        # who acted on a key
        "serve": "Bij het starten",
        "cli": "Via de opdrachtregel",
    }
)

CONSENT_STATUS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "pending": "Wacht op besluit",
        "granted": "Toestemming verleend",
        "refused": "Geweigerd",
        "revoked": "Ingetrokken",
        "expired": "Verlopen",
    }
)

RIGHTS_TYPE: Final[Mapping[str, str]] = MappingProxyType(
    {"inzage": "Inzage", "correctie": "Correctie", "verzet": "Verzet"}
)

RIGHTS_STATUS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "pending": "In behandeling",
        "granted": "Toegewezen",
        "partially_granted": "Gedeeltelijk toegewezen",
        "refused": "Afgewezen",
        "withdrawn": "Ingetrokken",
    }
)

FORWARD_STATUS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "forwarded": "doorgestuurd",
        "failed": "doorsturen mislukt; wordt handmatig doorgegeven",
        "unsupported": "wordt handmatig doorgegeven",
    }
)

PHASE: Final[Mapping[str, str]] = MappingProxyType(
    {
        "signalering": "Signalering",
        "triage": "Triage",
        "casusoverleg": "Casusoverleg",
        "plan_van_aanpak": "Plan van aanpak",
        "nazorg": "Nazorg",
        "aanmelding": "Aanmelding",
        "uitvoering": "Uitvoering",
        "afgesloten": "Afgesloten",
    }
)

CASE_STATUS: Final[Mapping[str, str]] = MappingProxyType({"open": "Open", "closed": "Gesloten"})

SENSITIVITY: Final[Mapping[str, str]] = MappingProxyType(
    {
        "gewoon": "gewoon persoonsgegeven",
        "bijzonder": "bijzonder persoonsgegeven",
        "strafrechtelijk": "strafrechtelijk persoonsgegeven",
    }
)

ROLE: Final[Mapping[str, str]] = MappingProxyType(
    {
        "privacy_officer": "Functionaris gegevensbescherming",
        "om": "Officier van Justitie",
        "betrokkene": "Betrokkene",
        "zvh_gateway": "Ander Zorg- en Veiligheidshuis",
        "gemeente": "Gemeente",
        "procesregie": "Procesregie",
        "politie": "Politie",
        "reclassering": "Reclassering",
        "ggz": "GGZ",
        "zorg": "Zorg",
        "verslavingszorg": "Verslavingszorg",
        "woningcorporatie": "Woningcorporatie",
        "dji": "Dienst Justitiële Inrichtingen",
        "jeugdzorg": "Jeugdzorg",
        "raad_kinderbescherming": "Raad voor de Kinderbescherming",
        "slachtofferhulp": "Slachtofferhulp",
        "veilig_thuis": "Veilig Thuis",
        "burgemeester": "Burgemeester",
        "stuurgroep": "Stuurgroep",
        "employee": "Medewerker",
    }
)

# What an FG read in the log, and the channel a request came through.
ACTION: Final[Mapping[str, str]] = MappingProxyType(
    {
        "list": "Zoeken",
        "entry": "Logregel bekeken",
        "export": "Export",
        "search": "Zoeken",
        "verify": "Controle",
        "portal_view": "Portaal bekeken",
        "file": "Indienen",
        "decide": "Beslissen",
        "revoke": "Intrekken",
        "open": "Casus openen",
        "query": "Opvragen",
        "web": "Website",
        "api": "API",
        "portal": "Portaal Mijn gegevens",
        "peer": "Ander ZVH (doorgestuurd verzoek)",
    }
)

# The names in an audit entry's ``details`` (shown on the FG's entry page).
DETAIL: Final[Mapping[str, str]] = MappingProxyType(
    {
        "how": "Hoe geïnformeerd",
        "notice": "Vastlegging informatieplicht",
        "representative": "Vertegenwoordiger",
        "review_on": "Herbeoordelen op",
        "until": "Tot",
        "withholding": "Achterhouding",
        "action": "Handeling",
        "added": "Toegevoegd",
        "alg": "Algoritme",
        "case_phase": "Fase van de casus",
        "categories": "Categorieën",
        "channel": "Kanaal",
        "deleted_at": "Verwijderd op",
        "events": "Aantal gebeurtenissen",
        "federation": "Samenwerking tussen ZVH's",
        "kid": "Sleutel-id",
        "peer_case": "Casus bij ander ZVH",
        "peer_requester": "Vrager bij ander ZVH",
        "phase": "Fase",
        "recipient": "Ontvanger",
        "recipients": "Ontvangers",
        "record_ref": "Verwijzing naar record",
        "records_named": "Genoemde records",
        "request": "Verzoek",
        "type": "Soort verzoek",
        "use": "Gebruik",
        "withheld": "Achtergehouden",
        "without_copies": "Zonder kopieën",
        "deadline": "Termijn",
        "responsible_party": "Verantwoordelijke partij",
        "cases": "Casussen",
        "rule": "Bewaarregel",
        "counts": "Aantallen",
        "window_start": "Begin van het venster",
        "count": "Aantal",
        "first_at": "Eerste keer",
        "last_at": "Laatste keer",
        "reason": "Reden",
        "where": "Waar",
        "previous_phase": "Vorige fase",
        "valid_until": "Geldig tot en met",
        "version": "Versie",
        "withheld_until": "Inzage uitgesteld tot",
        "closure_reason": "Reden van sluiten",
        "fields": "Velden",
        "filters": "Filters",
        "from": "Van",
        "to": "Tot en met",
        "motivation_code": "Motiveringscode",
        "returned": "Aantal teruggegeven",
        "sources": "Bronnen",
        "subject": "Persoon",
        "subject_ref": "Persoon in de casus",
        "subject_role": "Rol van de persoon",
    }
)

# Which glossary domain labels the value of a detail (the rest are shown as they are).
DETAIL_VALUE_DOMAIN: Final[Mapping[str, str]] = MappingProxyType(
    {
        "type": "rights_type",
        "channel": "action",
        "action": "action",
        "phase": "phase",
        "case_phase": "phase",
        "previous_phase": "phase",
        "rule": "reason",
        "closure_reason": "closure_reason",
        "subject_role": "subject_role",
        "motivation_code": "motivation",
        "reason": "reason",
    }
)

# The triage's outcome on a referral (gateway.cases.workflow.TriageOutcome).
TRIAGE_OUTCOME: Final[Mapping[str, str]] = MappingProxyType(
    {"opgepakt": "Opgepakt", "niet_opgepakt": "Niet opgepakt", "doorverwezen": "Doorverwezen"}
)

# A recorded legal ground per subject (gateway.policy.grounds.GroundKind) and its state.
GROUND_KIND: Final[Mapping[str, str]] = MappingProxyType(
    {
        "toestemming_betrokkene": "Toestemming van de betrokkene",
        "conflict_van_plichten": "Conflict van plichten",
        "wettelijke_grondslag": "Wettelijke grondslag",
    }
)
GROUND_STATUS: Final[Mapping[str, str]] = MappingProxyType(
    {"active": "Geldig", "expired": "Verlopen", "withdrawn": "Ingetrokken"}
)

# The case types, closure reasons, motivation codes and subject roles the shipped
# covenants declare (a covenant may add its own; those show as their code).
CASE_TYPE: Final[Mapping[str, str]] = MappingProxyType(
    {
        "pga": "Persoonsgerichte aanpak",
        "nazorg": "Nazorg ex-gedetineerden",
        "huiselijk_geweld": "Huiselijk geweld",
        "radicalisering": "Radicalisering",
        "complex": "Complexe casus",
    }
)
CLOSURE_REASON: Final[Mapping[str, str]] = MappingProxyType(
    {
        "doelen_bereikt": "Doelen bereikt",
        "overgedragen": "Overgedragen",
        "geen_medewerking": "Geen medewerking",
        "verhuisd": "Verhuisd",
        "overleden": "Overleden",
        "anders": "Anders",
    }
)
MOTIVATION: Final[Mapping[str, str]] = MappingProxyType(
    {
        "risico_geweld": "Risico op geweld",
        "recidive": "Risico op herhaling",
        "veiligheid_omgeving": "Veiligheid van de omgeving",
        "plan_van_aanpak": "Nodig voor het plan van aanpak",
    }
)
SUBJECT_ROLE: Final[Mapping[str, str]] = MappingProxyType(
    {
        "hoofdpersoon": "Hoofdpersoon",
        "partner": "Partner",
        "kind": "Kind",
        "slachtoffer": "Slachtoffer",
        "pleger": "Pleger",
    }
)

# The reports on /rapportage (gateway.reports.model.REPORT_KINDS).
REPORT_KIND: Final[Mapping[str, str]] = MappingProxyType(
    {"annual": "Jaaroverzicht (stuurgroep)", "privacy": "Privacyverantwoording"}
)

DOMAINS: Final[Mapping[Domain, Mapping[str, str]]] = MappingProxyType(
    {
        "kind": KIND,
        "outcome": OUTCOME,
        "reason": REASON,
        "consent_status": CONSENT_STATUS,
        "rights_type": RIGHTS_TYPE,
        "rights_status": RIGHTS_STATUS,
        "forward_status": FORWARD_STATUS,
        "phase": PHASE,
        "case_status": CASE_STATUS,
        "sensitivity": SENSITIVITY,
        "role": ROLE,
        "action": ACTION,
        "detail": DETAIL,
        "triage_outcome": TRIAGE_OUTCOME,
        "ground_kind": GROUND_KIND,
        "ground_status": GROUND_STATUS,
        "case_type": CASE_TYPE,
        "closure_reason": CLOSURE_REASON,
        "motivation": MOTIVATION,
        "subject_role": SUBJECT_ROLE,
        "report_kind": REPORT_KIND,
    }
)


def label(domain: Domain, code: str | None, empty: str = "—") -> str:
    """The Dutch label of ``code`` in ``domain``; ``empty`` for no code, the code if unknown."""
    if code is None or code == "":
        return empty
    table = DOMAINS[domain]
    found = table.get(code)
    if found is not None:
        return found
    return code


def detail_value(value: object, name: str) -> str:
    """A detail's value for a page: a code through its domain, booleans in Dutch."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "ja" if value else "nee"
    domain = DETAIL_VALUE_DOMAIN.get(name)
    return label(domain, str(value)) if domain else str(value)


def category(code: str | None) -> str:
    """A covenant category id as words (``psychisch_welzijn`` → ``psychisch welzijn``)."""
    return code.replace("_", " ") if code else "—"


def outcome_choices() -> list[tuple[str, str]]:
    """The outcomes an FG can search for, by Dutch label (the /privacy select)."""
    return sorted(
        {code: text for code, text in OUTCOME.items() if code in SEARCHABLE_OUTCOMES}.items(),
        key=lambda item: item[1],
    )


# The outcomes the log holds often enough to search on; all have a label above.
SEARCHABLE_OUTCOMES: Final = frozenset(
    {
        "ok",
        "denied",
        "pending_consent",
        "unavailable",
        "not_found",
        "requested",
        "read",
        "created",
        "widened",
        "changed",
        "granted",
        "partially_granted",
        "refused",
        "revoked",
        "expired",
        "inzage_shown",
        "correctie_granted",
        "certificate",
        "source_deleted",
        "rotated",
        "permit",
        "deny",
        "needs_consent",
    }
)
