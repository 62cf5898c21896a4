"""The public verifier: scan, upload or paste; a verdict people understand.

Holds no private key and never imports ``issuer``.
"""
