"""Makes tests/support (helpers shared by the pytest suites) importable from every suite."""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).parent / "support"))
