"""The ``vbg`` command: argparse only, one module per subcommand over the Python API.  ``main.main`` builds the
parser and maps errors to exit codes; ``common`` holds the options several subcommands share."""
