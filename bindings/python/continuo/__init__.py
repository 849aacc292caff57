"""continuo: Standard MIDI Files as numpy columns, read and written by a C++20 core.

>>> import continuo
>>> perf = continuo.read("take.mid")              # a path, bytes, or a binary file object
>>> perf.notes["onset_s"], perf.notes["pitch"]     # numpy arrays over the C++ buffers
>>> perf.to_pandas()                               # the notes as a DataFrame (needs pandas)
>>> perf.write("copy.mid")

See docs/python.md for the guide, and ``continuo.plot`` for matplotlib drawings.
"""

from ._core import __version__
from ._embedding import Occurrence, Passage, Windows, embed, embed_notes, embed_windows, passages
from ._errors import Error, InvalidMidiError, WriteError
from ._index import Index, IndexDataError
from ._library import SessionLibrary, SimilarSession
from ._repertoire import (
    Alternative,
    AttemptAnalysis,
    BarHeatmap,
    Identification,
    PassageInPiece,
    Placement,
    Repertoire,
    SessionAnalysis,
    bar_grid,
)
from ._practice import (
    FEATURE_NAMES,
    Attempt,
    Key,
    KeyProfile,
    Practice,
    Session,
    Sessionizer,
    StreamDiagnostic,
    Tempo,
    estimate_key,
    estimate_tempo,
    features,
    key_name,
    sessions,
)
from ._performance import (
    Diagnostic,
    Limits,
    NoteColumns,
    Pairing,
    Performance,
    Source,
    Status,
    TempoMap,
    from_notes,
    read,
)

__all__ = [
    "FEATURE_NAMES",
    "Alternative",
    "Attempt",
    "AttemptAnalysis",
    "BarHeatmap",
    "Diagnostic",
    "Error",
    "Identification",
    "Index",
    "IndexDataError",
    "InvalidMidiError",
    "Key",
    "KeyProfile",
    "Limits",
    "NoteColumns",
    "Occurrence",
    "Pairing",
    "Passage",
    "PassageInPiece",
    "Performance",
    "Placement",
    "Practice",
    "Repertoire",
    "Session",
    "SessionAnalysis",
    "SessionLibrary",
    "Sessionizer",
    "SimilarSession",
    "Source",
    "Status",
    "StreamDiagnostic",
    "Tempo",
    "TempoMap",
    "Windows",
    "WriteError",
    "__version__",
    "bar_grid",
    "embed",
    "embed_notes",
    "embed_windows",
    "estimate_key",
    "estimate_tempo",
    "features",
    "from_notes",
    "key_name",
    "passages",
    "read",
    "sessions",
]
