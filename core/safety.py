"""Theme check: refuses themes unfit for a children's story before any work starts."""

from __future__ import annotations

import re
import unicodedata

from core.errors import ThemeRejected

# A small, deliberately plain list in the four offline languages; model providers add their own
# safety filters on top. Matched as whole words, accents and case ignored.
_UNFIT = frozenset(  # a word block reads better than a 100-item list
    """
    kill kills killed killing killer murder murders murdered murderer blood bloody gore gory
    gun guns pistol rifle weapon weapons knife knives stab stabbed shoot shooting bomb bombs
    terror terrorist terrorists suicide torture tortured rape raped sex sexy sexual nude nudes
    naked porn porno cocaine heroin meth drugs drug drunk corpse corpses decapitate beheaded
    massacre slaughter genocide hitler nazi
    tuer meurtre meurtrier sanglant arme armes couteau poignarder bombe terroriste
    sexe nu nue drogue drogues cadavre
    matar asesinato asesino sangre sangriento arma armas cuchillo apunalar bomba
    terrorista violacion sexo desnudo desnuda droga drogas cadaver suicidio
    toten totet mord morder blut blutig waffe waffen messer erstechen bombe terrorist
    vergewaltigung nackt drogen leiche selbstmord
    """.split()  # noqa: SIM905
)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def check_theme(theme: str) -> None:
    """Raise `ThemeRejected` when the theme names something unfit for children."""
    words = set(re.findall(r"[a-z]+", _fold(theme)))
    if words & _UNFIT:
        raise ThemeRejected(
            "That theme isn't right for a children's story — try something gentle, "
            "like 'a cat and a dog'."
        )
