"""Benchmarks run by ``make bench``: each goal is a ratio against a baseline measured in the
same run, because these machines are shared and noisy. Never timed assertions in tests.

The benchmarks use the published development secrets, which production (the settings'
default) refuses: development is said explicitly here, for every section run alone
(``python -m bench.batch``) or together, and for the servers they start.
"""

import os

os.environ["JIAOZI_ENV"] = "development"
