import os
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))


def mmusim_bin():
    """The mmusim executable: $MMUSIM_BIN (set by ctest) or build/mmusim."""
    return os.environ.get("MMUSIM_BIN", str(ROOT / "build" / "mmusim"))
