"""Where the tests find the repository and the shared real data (``../shared/data``, absent on users' machines)."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
