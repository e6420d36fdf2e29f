"""Transcription with a local `transformers` speech-recognition checkpoint.

The seam for a stronger recogniser than pocketsphinx (a Whisper or wav2vec2 folder an
operator has copied onto the machine). Only a local folder is accepted: the model is
loaded with ``local_files_only`` so nothing is ever fetched from a hub.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from classifiers.audio.errors import AudioConfigError
from classifiers.audio.resample import FloatArray
from classifiers.audio.sphinx import TimedWord, Transcript

logger = logging.getLogger(__name__)

RATE = 16000


class TransformersTranscriber:
    """Transcribe with ``pipeline("automatic-speech-recognition", model=<local folder>)``.

    Args:
        model_path: Folder holding the checkpoint (config, weights, processor files).

    Raises:
        AudioConfigError: the folder does not exist, or the checkpoint will not load.
    """

    def __init__(self, model_path: Path) -> None:
        path = Path(model_path)
        if not path.is_dir():
            raise AudioConfigError(
                f"speech-recognition model folder {str(path)!r} does not exist; "
                "set asr_model_path to a local transformers checkpoint, or leave it "
                "unset to use pocketsphinx"
            )
        # Heavy: imported on first use, not when the module loads.
        from transformers import pipeline

        try:
            self._pipe: Any = pipeline(
                "automatic-speech-recognition",
                model=str(path),
                device="cpu",
                model_kwargs={"local_files_only": True},
            )
        except (OSError, ValueError) as exc:
            raise AudioConfigError(f"cannot load the model in {str(path)!r}: {exc}") from exc
        self.name = f"transformers:{path.name}"

    def transcribe(self, samples: FloatArray, offset_s: float) -> Transcript:
        """Transcribe one stretch of 16 kHz audio that starts ``offset_s`` into the call."""
        out = self._pipe({"raw": samples, "sampling_rate": RATE}, return_timestamps="word")
        words = [
            TimedWord(
                word=str(chunk["text"]).strip(),
                start=round(offset_s + float(chunk["timestamp"][0] or 0.0), 2),
                end=round(offset_s + float(chunk["timestamp"][1] or 0.0), 2),
                confidence=1.0,  # the pipeline gives no per-word confidence
            )
            for chunk in out.get("chunks", [])
        ]
        return Transcript(str(out["text"]).strip(), words)
