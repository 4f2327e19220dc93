"""The kit the tests and the load bench share to drive the real pipeline.

A fresh namespace on the shared servers (``kit.namespace``), real worker and API
processes (``kit.processes``), members with tokens and listed products
(``kit.sale``), records produced to and read from Kafka (``kit.kafka``) and stock
commands (``kit.commands``). Product code never imports it; ``tests/support`` keeps
what only the tests use. Not installed with the package: run from the repository.
"""
