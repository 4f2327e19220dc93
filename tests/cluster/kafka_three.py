"""Three Kafka brokers of the tests' own, and the faults done to them.

The nodes are those ``FLASHSALE_KAFKA_BROKERS=3 make up`` runs (ops/kafka_cluster.py:
the same jars, properties and heap), on free ports, with their data and logs in a
temporary directory: the shared broker on 9092 is never touched. A node is killed
with ``kill -9``, frozen with SIGSTOP and thawed with SIGCONT, or started again on
its data; ``restore`` brings every node back and waits until every replica of
every partition is in sync again.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaClient
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.cluster import ClusterMetadata
from aiokafka.errors import KafkaError
from aiokafka.protocol.metadata import MetadataRequest
from aiokafka.structs import TopicPartition

from kit.processes import ManagedProcess, free_port
from ops import kafka_cluster, services
from ops.kafka_cluster import KafkaNode

NODES = 3
START_SECONDS = 120.0


def free_ports(count: int) -> list[int]:
    ports: set[int] = set()
    while len(ports) < count:
        ports.add(free_port())
    return sorted(ports)


@dataclass
class KafkaThree:
    home: Path
    nodes: list[KafkaNode] = field(default_factory=list)
    procs: dict[int, ManagedProcess] = field(default_factory=dict)
    frozen: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        ports = free_ports(2 * NODES)
        self.nodes = [
            KafkaNode(n, ports[2 * (n - 1)], ports[2 * n - 1], self.home / f"kafka-{n}")
            for n in range(1, NODES + 1)
        ]

    @property
    def bootstrap(self) -> str:
        return kafka_cluster.bootstrap(self.nodes)

    def start(self) -> None:
        services.prepare_kafka_libs()
        kafka_cluster.prepare(self.nodes, replication=NODES)
        for node in self.nodes:
            self.procs[node.number] = self._process(node).start()
        asyncio.run(self.until_brokers(NODES, START_SECONDS))

    def _process(self, node: KafkaNode) -> ManagedProcess:
        argv = kafka_cluster.node_argv(node)
        return ManagedProcess(node.name, argv, {}, self.home / f"{node.name}.log", node.port)

    def kill(self, number: int) -> None:
        """``kill -9``: no controlled shutdown, nothing flushed."""
        self.procs[number].kill()

    def restart(self, number: int) -> None:
        """Start a stopped node again on its data."""
        assert not self.procs[number].alive
        self.procs[number] = self._process(self.nodes[number - 1]).start()

    def freeze(self, number: int) -> None:
        self.procs[number].signal(signal.SIGSTOP)
        self.frozen.add(number)

    def thaw(self, number: int) -> None:
        self.procs[number].signal(signal.SIGCONT)
        self.frozen.discard(number)

    def stop(self) -> None:
        for number in list(self.frozen):
            self.thaw(number)
        # All at once: a last node alone has no quorum and would wait for one.
        for proc in self.procs.values():
            proc.signal(signal.SIGTERM)
        for proc in self.procs.values():
            proc.stop(timeout=30)

    def restore(self, within: float = START_SECONDS) -> None:
        """Every node running and thawed, every replica in sync."""
        for number in list(self.frozen):
            self.thaw(number)
        for number, proc in self.procs.items():
            if not proc.alive:
                self.restart(number)
        asyncio.run(self.until_in_sync(within))

    async def _admin(self) -> AIOKafkaAdminClient:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=5000)
        await admin.start()
        return admin

    async def describe(self, topics: list[str] | None = None) -> list[dict[str, Any]]:
        """The topics' metadata (every topic when None): partitions, leaders, ISRs."""
        admin = await self._admin()
        try:
            return list(await admin.describe_topics(topics))
        finally:
            await admin.close()

    async def leaders(self, topic: str) -> dict[int, int]:
        """Partition -> node id of its leader (-1 while it has none)."""
        (described,) = await self.describe([topic])
        return {p["partition"]: p["leader"] for p in described["partitions"]}

    async def views(self, topic: str) -> dict[int, str]:
        """What each running node itself answers for metadata: the brokers it lists and
        the leader of each partition of ``topic`` (a node whose view lags shows a dead
        broker still leading). For a failed test's message."""
        views: dict[int, str] = {}
        for node in self.nodes:
            if not self.procs[node.number].alive:
                continue
            client = AIOKafkaClient(bootstrap_servers=node.address, request_timeout_ms=5000)
            try:
                await client.bootstrap()
                answer = await client.send(node.number, MetadataRequest([topic]))  # this node
                cluster = ClusterMetadata()
                cluster.update_metadata(answer)
                leaders = {
                    p: cluster.leader_for_partition(TopicPartition(topic, p))
                    for p in sorted(cluster.partitions_for_topic(topic) or ())
                }
                brokers = sorted(b.nodeId for b in cluster.brokers())
                views[node.number] = f"brokers {brokers}, leaders {leaders}"
            except (KafkaError, OSError) as exc:
                views[node.number] = f"no answer: {exc!r}"
            finally:
                await client.close()
        return views

    async def brokers(self) -> set[int]:
        admin = await self._admin()
        try:
            return {b["node_id"] for b in (await admin.describe_cluster())["brokers"]}
        finally:
            await admin.close()

    async def until_brokers(self, count: int, within: float) -> None:
        deadline = time.monotonic() + within
        while True:
            with contextlib.suppress(KafkaError, OSError):
                if len(await self.brokers()) >= count:
                    return
            if time.monotonic() > deadline:
                raise AssertionError(f"fewer than {count} brokers within {within:.0f}s")
            await asyncio.sleep(0.5)

    async def out_of_sync(self) -> list[tuple[str, int, list[int]]]:
        """(topic, partition, ISR) of every partition whose ISR lacks a replica."""
        return [
            (t["topic"], p["partition"], sorted(p["isr"]))
            for t in await self.describe()
            for p in t["partitions"]
            if sorted(p["isr"]) != sorted(p["replicas"])
        ]

    async def until_in_sync(self, within: float) -> float:
        """Until every node is a broker again and every ISR is whole; the seconds it took."""
        began = time.monotonic()
        await self.until_brokers(NODES, within)
        lagging: list[tuple[str, int, list[int]]] = []
        while time.monotonic() - began < within:
            with contextlib.suppress(KafkaError, OSError):
                lagging = await self.out_of_sync()
                if not lagging:
                    return time.monotonic() - began
            await asyncio.sleep(0.5)
        raise AssertionError(f"replicas not in sync within {within:.0f}s: {lagging[:5]}")

    async def until_led_without(self, topic: str, number: int, within: float) -> dict[int, int]:
        """Until no partition of ``topic`` is led by node ``number`` or by nobody."""
        deadline = time.monotonic() + within
        leaders: dict[int, int] = {}
        while time.monotonic() < deadline:
            with contextlib.suppress(KafkaError, OSError):
                leaders = await self.leaders(topic)
                if all(leader not in (number, -1) for leader in leaders.values()):
                    return leaders
            await asyncio.sleep(0.1)
        raise AssertionError(f"{topic} still led by node {number} or nobody: {leaders}")
