"""The ``jiaozi`` command line: one entry point that gathers each deployable's commands."""
