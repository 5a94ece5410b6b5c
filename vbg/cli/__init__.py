"""The ``vbg`` command: argparse only, one module per subcommand over the Python API (``main`` builds the
parser and maps errors to exit codes)."""

from .main import main

__all__ = ["main"]
