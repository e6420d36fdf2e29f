"""CSV that is safe to open in a spreadsheet: the one writer for every CSV we hand out.

Text in these files comes from platforms and is hostile. A spreadsheet program runs a
cell that starts with ``=``, ``+``, ``-`` or ``@`` (and, in some, tab or CR) as a
formula, so such a text cell gets a leading ``'``, in every column and in the header.
Numbers are left as numbers: ``-3`` is a figure, not a formula. Rows end in CRLF
(RFC 4180), which also makes the csv module quote a field holding a bare CR, so a CR
inside a text cannot split its row.
"""

from __future__ import annotations

import csv
import io
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

#: Spreadsheet programs run cells starting with these as formulas.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: RFC 4180 line ends: the csv module quotes any field holding a character of these.
LINE_END = "\r\n"


def safe_cell(value: Any) -> Any:
    """The value, with a ``'`` in front when it is text a spreadsheet would run."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _safe_labels(index: pd.Index) -> pd.Index:
    # pandas is heavy and only imported on use; a caller with a frame has loaded it.
    import pandas as pd

    if isinstance(index, pd.MultiIndex):
        safe = index.set_levels([level.map(safe_cell) for level in index.levels])
    else:
        safe = index.map(safe_cell)
    return safe.set_names([safe_cell(name) for name in index.names])


def write_frame(frame: pd.DataFrame, out: IO[str], *, index: bool = False,
                header: bool = True) -> None:
    """Write a pandas frame as safe CSV to ``out`` (opened with ``newline=""``).

    Every text cell, index label and column name goes through ``safe_cell``; pandas keeps
    its own formatting of numbers and dates.
    """
    # pandas is heavy and only imported on use; a caller with a frame has loaded it.
    import pandas as pd

    safe = frame.copy()
    for name in safe.columns:
        if not pd.api.types.is_numeric_dtype(safe[name].dtype):
            safe[name] = safe[name].map(safe_cell)
    safe.columns = _safe_labels(safe.columns)
    safe.index = _safe_labels(safe.index)
    safe.to_csv(out, index=index, header=header, quoting=csv.QUOTE_MINIMAL,
                lineterminator=LINE_END)


def frame_csv(frame: pd.DataFrame, *, index: bool = False) -> str:
    """A pandas frame as safe CSV text (see ``write_frame``)."""
    out = io.StringIO()
    write_frame(frame, out, index=index)
    return out.getvalue()
