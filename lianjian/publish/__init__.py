"""Publishing: the atomic, deterministic ``published/`` tree (docs/contract.md "What it publishes"), its manifest and
dictionary, and the readers built on it only — ``lianjian explain`` and ``lianjian lineage``.

Modules: ``layers`` (which layer each published table comes from), ``lineage`` (column lineage from the contract declaration), ``dictionary``
(``_dictionary.json``), ``publish`` (write, check, swap, recover, manifest, summary), ``explain``. Identity numbers: one
detector for the whole project, ``lianjian.privacy``.
"""
