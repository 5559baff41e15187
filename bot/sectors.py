"""The default sectors as a Spanish reader reads them ("fuerzas del orden", "residentes"), and the
Spanish words a member may type for them. A sector is kept as its English name (what the
coalition's list, `--sector` and the exports use); a sector a coalition added itself is shown as it
was typed, in every language."""

from __future__ import annotations

import unicodedata

from bot.i18n import N_, _, language

NAMES = {
    "law-enforcement": N_("law enforcement"),
    "local-government": N_("local government"),
    "nonprofit": N_("nonprofit"),
    "business": N_("business"),
    "school": N_("school"),
    "faith": N_("faith"),
    "resident": N_("resident"),
    "youth": N_("youth"),
    "other": N_("other"),
}

# What a Spanish speaker types for a default sector (accents and case aside).
TYPED = {
    "policia": "law-enforcement",
    "fuerzas-del-orden": "law-enforcement",
    "seguridad-publica": "law-enforcement",
    "gobierno-local": "local-government",
    "gobierno": "local-government",
    "municipio": "local-government",
    "ayuntamiento": "local-government",
    "ong": "nonprofit",
    "sin-fines-de-lucro": "nonprofit",
    "organizacion-sin-fines-de-lucro": "nonprofit",
    "empresa": "business",
    "empresas": "business",
    "comercio": "business",
    "negocio": "business",
    "escuela": "school",
    "escuelas": "school",
    "educacion": "school",
    "fe": "faith",
    "religion": "faith",
    "iglesia": "faith",
    "comunidad-de-fe": "faith",
    "residente": "resident",
    "residentes": "resident",
    "vecino": "resident",
    "vecina": "resident",
    "vecinos": "resident",
    "juventud": "youth",
    "jovenes": "youth",
    "otro": "other",
    "otra": "other",
}


def sector_name(sector: str) -> str:
    """A sector as the reader in force reads it: its translation where it is a default sector and
    the reader does not read English; else as kept."""
    if language() == "en" or sector not in NAMES:
        return sector
    return _(NAMES[sector])


def typed_sector(text: str) -> str:
    """What a member typed as a sector, as kept: "Residente", "policía" and "resident" alike."""
    name = text.strip().lower().replace(" ", "-")
    plain = "".join(c for c in unicodedata.normalize("NFD", name) if unicodedata.category(c) != "Mn")
    return TYPED.get(plain, name)
