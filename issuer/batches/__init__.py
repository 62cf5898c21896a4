"""Batch issuance: a certification round's spreadsheet read, judged, signed and issued.

Owns: ``reading`` (a file read: ``read_batch``), ``files`` (CSV and XLSX bytes to rows of
cells, whole-file refusals), ``headers`` (which column is which field), ``cells`` (what a
spreadsheet makes of a value: typed cells, Excel date spellings), ``rows`` (each row
judged by the field rules of ``issuer.fields``), ``report`` (the error report for the
clerk), ``run`` (the stored batch, the signing pool, the bulk transaction), ``printing``
(a batch's PDFs as one print file).

May import: ``credential``, ``keys``, ``issuer.db``, ``issuer.fields``, ``issuer.audit``,
``issuer.issuance``, ``issuer.lifecycle``, ``issuer.pdf``, ``issuer.settings``,
``issuer.errors``. Not ``issuer.web`` or ``issuer.cli``.
"""
