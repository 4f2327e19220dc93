"""How the pipeline's consumers fetch: one choice for the Faust workers (applied by
streams/faust_fixes.py, fix 2) and the API's order-events listener (api/outcomes.py).

A fetch waits at most ``FETCH_MAX_WAIT_MS`` and returns as soon as it has
``FETCH_MIN_BYTES`` (Kafka's default is 1 byte: every fetch returns with whatever
has come, a few records under load). Under load a fetch of 16 KB carries tens of
records, so a worker or API process pays its per-fetch cost (a request, a response
to parse, a pass of Faust's fetch loop) that much less often: about 10 % more
decided orders/s and a fifth off the answers' p99 (bench/README.md, "Fetching 16 KB
at least"). At low load a record waits at most the 5 ms more, once per hop.
"""

FETCH_MAX_WAIT_MS = 5
FETCH_MIN_BYTES = 16 * 1024
