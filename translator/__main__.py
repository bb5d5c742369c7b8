"""`python -m translator ...`: see translator/cli.py."""

import sys

from .cli import main

sys.exit(main())
