"""The ``jiaozi`` command line: one entry point that gathers each deployable's commands.

It sits above every other package and may import any of them (``cli`` imports the
issuer's command groups only when one runs); ``demo`` runs the issuer and the verifier
together.
"""
