"""How a recording's transcript leaves the case page: with its ``transcript_status``.

Speech in a language the US-English recogniser does not know still gets a string of
English words from it (``classifiers.audio.coverage``). Wherever a transcript is handed
on (evidence bundles, data-access exports), that string must never read as what was said:
it moves out of ``transcript`` into ``machine_guess`` with a label saying what it is.
"""

from __future__ import annotations

from typing import Any

from workbench.enums import TranscriptStatus

#: The label every export puts beside the English model's guess at other-language speech.
MACHINE_GUESS_LABEL = "machine guess, not a transcript"
#: Why, for whoever reads the export.
MACHINE_GUESS_NOTE = ("machine guess, not a transcript: the speech is in a language the "
                      "English speech model does not know; listen to the audio")


def untrusted(status: str | None) -> bool:
    """Whether a recording's text is the English model's guess at other-language speech."""
    return status == TranscriptStatus.NO_TRANSCRIPT_LANGUAGE


def transcript_fields(status: str | None, text: str | None) -> dict[str, Any]:
    """A recording's ``transcript`` for an export, with its status, the guess set apart.

    A transcribed recording (or one from before statuses) keeps its text as ``transcript``;
    an untrusted one has ``transcript: null`` and its text as ``machine_guess``.
    """
    if untrusted(status):
        return {"transcript_status": status, "transcript": None,
                "machine_guess": text, "machine_guess_label": MACHINE_GUESS_NOTE}
    return {"transcript_status": status, "transcript": text}
