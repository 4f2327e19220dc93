"""A Kafka KRaft cluster on loopback: N combined broker+controller nodes, one JVM each.

``FLASHSALE_KAFKA_BROKERS=3 make up`` runs ``kafka-1`` … ``kafka-3`` from the same
Maven Central jars as the single broker (``ops/services.py``); the cluster fault
tests run another one on ports of their own. Node N's data, configuration and
log live under its ``home`` (``.run/kafka-N/``); every node votes in the
controller quorum, so the cluster stays up while any one node is away.

Only the standard library: the stack manager runs before anything is installed.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ops.services import KAFKA_DIR, KAFKA_LIBS, StackError, log4j_option, new_cluster_id

HOST = "127.0.0.1"
# Three JVMs on a small machine: a quarter of the single broker's heap each, and
# measured enough for the suite's topics (see README, "What make up starts").
HEAP = ("-Xms256m", "-Xmx512m")


@dataclass(frozen=True)
class KafkaNode:
    """One node: node.id ``number``, clients on ``port``, the quorum on ``controller_port``."""

    number: int
    port: int
    controller_port: int
    home: Path

    @property
    def name(self) -> str:
        return f"kafka-{self.number}"

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def properties(self) -> Path:
        return self.home.resolve() / "server.properties"

    @property
    def data(self) -> Path:
        return self.home.resolve() / "data"


def local_nodes(ports: Sequence[int], run_dir: Path) -> list[KafkaNode]:
    """Nodes on ``ports`` (each controller on the next port), homes under ``run_dir``."""
    return [KafkaNode(n, port, port + 1, run_dir / f"kafka-{n}") for n, port in enumerate(ports, 1)]


def bootstrap(nodes: Sequence[KafkaNode]) -> str:
    return ",".join(node.address for node in nodes)


def voters(nodes: Sequence[KafkaNode]) -> str:
    return ",".join(f"{n.number}@{HOST}:{n.controller_port}" for n in nodes)


def node_properties(node: KafkaNode, nodes: Sequence[KafkaNode], replication: int) -> str:
    """``ops/kafka/cluster.properties`` completed for ``node``."""
    min_isr = max(1, replication - 1)
    lines = [
        f"node.id={node.number}",
        f"controller.quorum.voters={voters(nodes)}",
        f"listeners=PLAINTEXT://{node.address},CONTROLLER://{HOST}:{node.controller_port}",
        f"advertised.listeners=PLAINTEXT://{node.address}",
        f"log.dirs={node.data}",
        # Kafka's own topics (offsets, transactions) and any topic created without
        # settings are replicated like the app's.
        f"default.replication.factor={replication}",
        f"min.insync.replicas={min_isr}",
        f"offsets.topic.replication.factor={replication}",
        f"transaction.state.log.replication.factor={replication}",
        f"transaction.state.log.min.isr={min_isr}",
    ]
    base = (KAFKA_DIR / "cluster.properties").read_text()
    return base + "\n" + "\n".join(lines) + "\n"


def write_properties(nodes: Sequence[KafkaNode], replication: int) -> None:
    for node in nodes:
        node.home.mkdir(parents=True, exist_ok=True)
        node.properties.write_text(node_properties(node, nodes, replication))


def node_argv(node: KafkaNode) -> list[str]:
    """The node's JVM; its properties path is also the marker that tells nodes apart."""
    return [
        "java",
        *HEAP,
        "-XX:+UseG1GC",
        log4j_option(),
        "-cp",
        f"{KAFKA_LIBS.resolve()}/*",
        "kafka.Kafka",
        str(node.properties),
    ]


def cluster_id(nodes: Sequence[KafkaNode]) -> str:
    """The id formatted into the nodes that have one, else a new one (base64url UUID)."""
    for node in nodes:
        meta = node.data / "meta.properties"
        if meta.exists():
            for line in meta.read_text().splitlines():
                if line.startswith("cluster.id="):
                    return line.split("=", 1)[1].strip()
    return new_cluster_id()


def format_storage(nodes: Sequence[KafkaNode]) -> None:
    """Format every node not yet formatted, all with the cluster's one id."""
    ident = cluster_id(nodes)
    for node in nodes:
        if (node.data / "meta.properties").exists():
            continue
        argv = ["java", log4j_option(), "-cp", f"{KAFKA_LIBS.resolve()}/*"]
        argv += ["kafka.tools.StorageTool", "format", "--ignore-formatted"]
        argv += ["-t", ident, "-c", str(node.properties)]
        try:
            subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        except subprocess.CalledProcessError as exc:
            raise StackError(f"formatting {node.name}'s storage in {node.data} failed") from exc


def prepare(nodes: Sequence[KafkaNode], replication: int) -> None:
    """Configuration and storage for every node (idempotent)."""
    write_properties(nodes, replication)
    format_storage(nodes)
