"""Ready-made surveys (`/poll survey --template NAME`), written for this project in English and
Spanish: a partnership-health check a coalition repeats (by title, or `--every quarterly`) so its
rounds become indicators a goal can track (`/goal add --from-survey`)."""

from __future__ import annotations

TEMPLATES: dict[str, dict[str, tuple[str, list[str]]]] = {
    "partnership": {
        "en": (
            "Partnership health",
            [
                "I trust the other partners in this coalition to do what they say.",
                "Partners share information openly and in good time.",
                "We agree on what this coalition is trying to achieve.",
                "When problems come up, we solve them together.",
                "The coalition has the time, people and money its work needs.",
                "Residents have a real say in the coalition's decisions.",
            ],
        ),
        "es": (
            "Salud de la alianza",
            [
                "Confío en que los demás socios de esta coalición cumplen lo que dicen.",
                "Los socios comparten la información abiertamente y a tiempo.",
                "Estamos de acuerdo en lo que esta coalición quiere lograr.",
                "Cuando surgen problemas, los resolvemos juntos.",
                "La coalición tiene el tiempo, las personas y el dinero que su trabajo necesita.",
                "Los vecinos tienen verdadera voz en las decisiones de la coalición.",
            ],
        ),
    }
}


def template(name: str, language: str) -> tuple[tuple[str, list[str]], tuple[str, tuple[str, list[str]]]]:
    """(title and statements in `language`, (the other language, its title and statements))."""
    versions = TEMPLATES[name]
    own = versions.get(language, versions["en"])
    other = "es" if language != "es" else "en"
    return own, (other, versions[other])
