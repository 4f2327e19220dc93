"""The load bench: the seed's scenarios against this pipeline and this machine's ceiling.

Run it with ``make bench`` (every scenario) or ``python -m bench SCENARIO ...``;
see ``bench/README.md``.
"""
