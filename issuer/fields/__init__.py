"""The field rules: what a name, identity number, date or code an office sends must be.

Owns: ``application`` (one certificate application judged field by field into
``FieldError`` values with a code and both languages).

May import: ``credential``, ``issuer.pdf`` (whether a text can be printed),
``issuer.errors``, ``issuer.settings``. No database, no web framework.
"""
