"""Publishing: the atomic, deterministic ``published/`` tree (CONTRACT.md §3), its manifest and
dictionary, and the readers built on it only — ``lianjian explain`` and ``lianjian lineage``.

Modules: ``layers`` (which layer each published table comes from), ``lineage`` (column lineage from the contract declaration), ``dictionary``
(``_dictionary.json``), ``publish`` (write, check, swap, recover, manifest, summary), ``explain``. Identity numbers: one
detector for the whole project, ``lianjian.privacy``.
"""
