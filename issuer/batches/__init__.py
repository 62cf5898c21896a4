"""Batch issuance: a certification round's spreadsheet read, judged, signed and issued.

Owns: ``reading`` (CSV and XLSX rows judged by the field rules, the error report),
``run`` (the stored batch, the signing pool, the bulk transaction), ``printing`` (a
batch's PDFs as one print file).

May import: ``credential``, ``keys``, ``issuer.db``, ``issuer.fields``, ``issuer.audit``,
``issuer.issuance``, ``issuer.lifecycle``, ``issuer.pdf``, ``issuer.settings``,
``issuer.errors``. Not ``issuer.web`` or ``issuer.cli``.
"""
