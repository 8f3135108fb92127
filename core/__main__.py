"""``python -m portrait_animator`` runs the CLI."""

import sys

from .cli import main

sys.exit(main())
