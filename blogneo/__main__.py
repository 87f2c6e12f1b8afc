"""`python -m blogneo`: the same command as `blogneo`, for an environment whose scripts are not on PATH."""

import sys

from .cli import main

sys.exit(main())
