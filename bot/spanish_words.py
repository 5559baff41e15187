"""The Spanish a member types where the bot expects one of its English words: an RSVP ("voy"), a
role ("coordinadora"), on/off ("sí", "desactivado"), a day ("miércoles"), a repetition
("mensual"). Commands stay English (Slack cannot translate them); their values need not.

Each word maps to the English words it may mean, most likely first; the command takes the first
one it accepts ("sí" is `on` for a setting and `going` for an RSVP)."""

from __future__ import annotations

import unicodedata
from collections.abc import Collection

WORDS: dict[str, tuple[str, ...]] = {
    # Answers and switches.
    "si": ("on", "going", "yes"),
    "no": ("off", "no"),
    "voy": ("going",),
    "asistire": ("going",),
    "ire": ("going",),
    "quizas": ("maybe",),
    "quiza": ("maybe",),
    "tal vez": ("maybe",),
    "talvez": ("maybe",),
    "a lo mejor": ("maybe",),
    "no puedo": ("no",),
    "no voy": ("no",),
    "activado": ("on",),
    "activar": ("on",),
    "encender": ("on",),
    "desactivado": ("off",),
    "desactivar": ("off",),
    "apagar": ("off",),
    "mostrar": ("show",),
    "ver": ("show", "list"),
    # Roles.
    "coordinador": ("coordinator",),
    "coordinadora": ("coordinator",),
    "miembro": ("member",),
    "observador": ("observer",),
    "observadora": ("observer",),
    # Lists and actions.
    "mias": ("mine",),
    "mios": ("mine",),
    "abiertas": ("open",),
    "pendientes": ("open",),
    "vencidas": ("overdue",),
    "atrasadas": ("overdue",),
    "agregar": ("add",),
    "anadir": ("add",),
    "lista": ("list",),
    "listar": ("list",),
    "quitar": ("remove",),
    "eliminar": ("remove",),
    "restablecer": ("reset",),
    "nueva": ("reset",),
    # Positions on a proposal (/decision).
    "consiento": ("consent",),
    "consentir": ("consent",),
    "de acuerdo": ("agree",),
    "acuerdo": ("agree",),
    "preocupacion": ("concern",),
    "inquietud": ("concern",),
    "objecion": ("object",),
    "objeto": ("object",),
    "objetar": ("object",),
    "me abstengo": ("abstain",),
    "abstencion": ("abstain",),
    "en desacuerdo": ("disagree",),
    "desacuerdo": ("disagree",),
    "bloqueo": ("block",),
    "bloquear": ("block",),
    "apoyo": ("support",),
    "apoyar": ("support",),
    "me opongo": ("oppose",),
    "oponerse": ("oppose",),
    # Poll kinds.
    "unica": ("single",),
    "una": ("single",),
    "varias": ("multiple",),
    "multiple": ("multiple",),
    "ordenada": ("ranked",),
    "por orden": ("ranked",),
    # Days.
    "lunes": ("monday",),
    "martes": ("tuesday",),
    "miercoles": ("wednesday",),
    "jueves": ("thursday",),
    "viernes": ("friday",),
    "sabado": ("saturday",),
    "domingo": ("sunday",),
    "lun": ("monday",),
    "mar": ("tuesday",),
    "mie": ("wednesday",),
    "jue": ("thursday",),
    "vie": ("friday",),
    "sab": ("saturday",),
    "dom": ("sunday",),
    # Repetitions.
    "semanal": ("weekly",),
    "cada semana": ("weekly",),
    "quincenal": ("2weeks",),
    "cada dos semanas": ("2weeks",),
    "cada 2 semanas": ("2weeks",),
    "mensual": ("monthly",),
    "trimestral": ("quarterly",),
    "cada tres meses": ("quarterly",),
    "cada mes": ("monthly",),
    "diaria": ("daily",),
    "diario": ("daily",),
    "cada dia": ("daily",),
}


def plain(word: str) -> str:
    """Lower case, accents off, spaces folded: how the table is keyed ("Sí" -> "si")."""
    folded = "".join(c for c in unicodedata.normalize("NFKD", word.strip().lower()) if not unicodedata.combining(c))
    return " ".join(folded.replace("ñ", "n").split())


def meaning(word: str, accepted: Collection[str]) -> str | None:
    """The English word `accepted` holds that Spanish `word` means, or None."""
    return next((english for english in WORDS.get(plain(word), ()) if english in accepted), None)
