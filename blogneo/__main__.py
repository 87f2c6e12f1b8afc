"""`python -m blogneo`: the same command as `blogneo`, for an environment whose scripts are not on PATH."""

import sys

from .cli import main

if __name__ == "__main__":  # not when imported (the docstring tests import every module)
    sys.exit(main())
