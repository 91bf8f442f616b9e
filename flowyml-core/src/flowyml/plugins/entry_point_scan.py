"""Whether any installed distribution could declare an entry point of a group, answered
without importing :mod:`importlib.metadata`.

Importing ``importlib.metadata`` imports the ``email`` package (15 to 40 ms), which is
most of what plugin discovery costs where no plugin is installed: a step runner in an
image holding flowyml-core alone, which starts once per step group. This scan reads the
``entry_points.txt`` files of the distributions on ``sys.path`` and says "none" only when
it has seen every place ``importlib.metadata`` would look; anything it cannot read as
plainly (a zip file or egg on the path, a finder of distributions other than the
standard one) makes it answer "maybe", and discovery then goes through
``importlib.metadata`` as always.
"""

from __future__ import annotations

import os
import re
import sys
from importlib.machinery import PathFinder

__all__ = ["group_may_be_declared"]


def group_may_be_declared(group: str) -> bool:
    """False only when no distribution on ``sys.path`` declares an entry point in ``group``."""
    header = re.compile(rf"^\s*\[\s*{re.escape(group)}\s*\]\s*$", re.MULTILINE)
    for finder in sys.meta_path:
        if finder is not PathFinder and hasattr(finder, "find_distributions"):
            return True
    for entry in sys.path:
        folder = entry or "."
        try:
            names = os.listdir(folder)
        except FileNotFoundError:
            continue
        except OSError:  # a zip file on the path (NotADirectoryError), or unreadable
            return True
        for name in names:
            if name.endswith(".egg"):
                return True
            if not name.endswith((".dist-info", ".egg-info")):
                continue
            try:
                with open(os.path.join(folder, name, "entry_points.txt"), encoding="utf-8") as f:
                    text = f.read()
            except (FileNotFoundError, NotADirectoryError):
                continue  # no entry points (or a single-file .egg-info, which has none)
            except (OSError, UnicodeDecodeError):
                return True
            if header.search(text):
                return True
    return False
