"""How many new connections a listening HTTP port queues until its process accepts them.

A flash sale's buyers open their connections in a burst, and aiohttp's default
backlog is 128 a socket. A connection that finds the accept queue full is dropped
(the kernel's ListenOverflows), and its client sends its SYN again only a second
later: a buyer's request then starts a second late. In the flash bench the
payer's burst of new connections overflowed it in one run of three (36
connections). 900 connections opened at once to two API processes lost 170-331
of them at 128, none at this value (tests/integration/test_api_processes.py).
The kernel caps the value at ``net.core.somaxconn`` (4,096 on Debian 12).

The bench's own servers (the ceiling and the peer, bench/ceiling.py) use the same
value, so that the comparisons stay fair.
"""

LISTEN_BACKLOG = 4096
