"""Commands run on demand by the operator, which never change ``published/`` or ``restricted/``'s
tables: ``lianjian leads`` (the R10 review leads of one unit and year), ``lianjian dossier`` (one
officer's 廉政档案) and ``lianjian whatif`` (what a candidate rules file would change).

``leads`` and ``dossier`` show personal data: each call is appended to ``restricted/access.log``
before anything is shown (``lianjian.publish.restricted.log_access``).
"""
