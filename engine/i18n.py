"""The engine's user-visible text, translated with Python's gettext.

Every sentence the engine shows a user (diagnostics, hints, formula words, checker sentences, CLI messages) goes
through :func:`_` (or :func:`ngettext` for counts). Text that must be defined at import time, before a language is
chosen (a spec's documentation, a parameter's help), is marked with :func:`N_` and translated where it is shown.

The catalogues live under ``resources/locale/<lang>/LC_MESSAGES/layerlab.mo``. The language is chosen, in order, by
:func:`set_language`, ``LAYERLAB_LANG``, then the usual ``LANGUAGE``/``LC_ALL``/``LC_MESSAGES``/``LANG`` variables.
The catalogue is loaded on first use, so a run that prints nothing never reads it.
"""

from __future__ import annotations

import gettext as _gettext
import os
from pathlib import Path

__all__ = [
    "DOMAIN",
    "LANGUAGES",
    "LOCALE_DIR",
    "N_",
    "_",
    "current_language",
    "language_from_environment",
    "ngettext",
    "set_language",
]

DOMAIN = "layerlab"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "resources" / "locale"
#: The languages LayerLab speaks, by code, with their names in their own language.
LANGUAGES: dict[str, str] = {"en": "English", "ko": "한국어"}

_language: str | None = None
_translation: _gettext.NullTranslations | None = None


def language_from_environment(environ: dict[str, str] | None = None) -> str:
    """The language the environment asks for, as one of :data:`LANGUAGES` ("en" when none matches)."""
    env = os.environ if environ is None else environ
    for variable in ("LAYERLAB_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(variable, "")
        for part in value.split(":"):
            code = part.split(".")[0].split("_")[0].split("-")[0].lower()
            if code in LANGUAGES:
                return code
            if code and code not in ("c", "posix"):
                return "en"
    return "en"


def set_language(language: str | None) -> str:
    """Speak ``language`` ("ko", "en"; None: the environment's) from now on; returns the language chosen.

    Raises ``ValueError`` for a language LayerLab does not speak.
    """
    global _language, _translation
    chosen = language_from_environment() if language is None else language
    if chosen not in LANGUAGES:
        raise ValueError(f"unknown language {chosen!r}: choose one of {', '.join(LANGUAGES)}")
    _language = chosen
    _translation = None
    os.environ["LAYERLAB_LANG"] = chosen  # worker processes speak the same language
    return chosen


def current_language() -> str:
    """The language the engine speaks now."""
    global _language
    if _language is None:
        _language = language_from_environment()
    return _language


def _catalogue() -> _gettext.NullTranslations:
    global _translation
    if _translation is None:
        language = current_language()
        if language == "en":
            _translation = _gettext.NullTranslations()
        else:
            _translation = _gettext.translation(DOMAIN, LOCALE_DIR, languages=[language], fallback=True)
    return _translation


def _(message: str) -> str:
    """``message`` in the current language (itself when no translation exists)."""
    return _catalogue().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of a counted message for ``n`` in the current language."""
    return _catalogue().ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark ``message`` for translation without translating it now (translate it with :func:`_` where shown)."""
    return message
