"""The local KRaft cluster's layout and configuration, and how make up chooses its brokers.

Nothing here starts a JVM: the specs, properties and refusals are checked as data,
with a temporary run directory.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from ops import brokers, kafka_cluster, processes, services, stack
from ops.services import StackError
from streams.settings import Settings

THREE = {"FLASHSALE_KAFKA_BROKERS": "3"}


@pytest.fixture
def run_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(processes, "RUN_DIR", tmp_path)
    return tmp_path


def _properties(text: str) -> dict[str, str]:
    lines = [line for line in text.splitlines() if "=" in line and not line.startswith("#")]
    return {key.strip(): value.strip() for key, value in (line.split("=", 1) for line in lines)}


def test_three_brokers_are_three_nodes_on_the_readme_ports(run_dir: Path) -> None:
    specs = brokers.broker_specs(Settings.from_env(THREE))
    assert [s.name for s in specs] == ["kafka-1", "kafka-2", "kafka-3"]
    assert [s.port for s in specs] == [9092, 9094, 9096]
    # Each node is told apart by its own properties file, under .run/kafka-N/.
    assert [s.marker for s in specs] == [
        str((run_dir / f"kafka-{n}" / "server.properties").resolve()) for n in (1, 2, 3)
    ]
    assert all(s.marker in s.argv for s in specs)
    assert "-Xmx512m" in specs[0].argv


def test_one_broker_is_the_single_broker_as_before() -> None:
    (spec,) = brokers.broker_specs(Settings.from_env({}))
    assert (spec.name, spec.port, spec.marker) == ("kafka", 9092, "kafka.Kafka")


def test_every_node_votes_and_replicates_internal_topics_like_the_app(run_dir: Path) -> None:
    nodes = brokers.cluster_nodes(Settings.from_env(THREE))
    props = _properties(kafka_cluster.node_properties(nodes[1], nodes, replication=3))
    assert props["node.id"] == "2"
    assert props["process.roles"] == "broker,controller"
    assert props["controller.quorum.voters"] == (
        "1@127.0.0.1:9093,2@127.0.0.1:9095,3@127.0.0.1:9097"
    )
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:9094,CONTROLLER://127.0.0.1:9095"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:9094"
    assert props["log.dirs"] == str((run_dir / "kafka-2" / "data").resolve())
    assert props["offsets.topic.replication.factor"] == "3"
    assert props["transaction.state.log.min.isr"] == "2"
    assert props["min.insync.replicas"] == "2"
    assert props["auto.create.topics.enable"] == "false"
    assert props["unclean.leader.election.enable"] == "false"


def test_a_cluster_keeps_the_id_its_formatted_nodes_have(tmp_path: Path) -> None:
    nodes = kafka_cluster.local_nodes([19092, 19094], tmp_path)
    fresh = kafka_cluster.cluster_id(nodes)
    assert len(fresh) == 22 and fresh == fresh.strip()
    nodes[1].data.mkdir(parents=True)
    (nodes[1].data / "meta.properties").write_text("version=1\ncluster.id=abcDEF123\nnode.id=2\n")
    assert kafka_cluster.cluster_id(nodes) == "abcDEF123"


@pytest.mark.parametrize(
    ("environ", "says"),
    [
        ({"FLASHSALE_REPLICATION_FACTOR": "3"}, "needs as many brokers"),
        ({**THREE, "FLASHSALE_KAFKA_BOOTSTRAP": "127.0.0.1:9092"}, "names 1 broker"),
        ({**THREE, "FLASHSALE_KAFKA_BOOTSTRAP": "a:1,b:2,c:3"}, "on 127.0.0.1 only"),
    ],
)
def test_what_make_up_cannot_run_is_one_line(
    run_dir: Path, environ: dict[str, str], says: str
) -> None:
    with pytest.raises(StackError, match=says) as raised:
        brokers.ensure_brokers(Settings.from_env(environ))
    assert "\n" not in str(raised.value)


def _sleeping(name: str, marker: str) -> int:
    argv = [sys.executable, "-c", "import time; time.sleep(60)", marker]
    pid = processes.start(processes.ProcessSpec(name, argv, marker=marker))
    deadline = time.monotonic() + 10
    while processes.running_pid(name, marker) is None and time.monotonic() < deadline:
        time.sleep(0.01)
    return pid


def test_the_two_kafka_shapes_never_run_together(run_dir: Path) -> None:
    single = _sleeping("kafka", "kafka.Kafka")
    try:
        with pytest.raises(StackError, match="single Kafka broker"):
            brokers.ensure_brokers(Settings.from_env(THREE))
    finally:
        processes.stop("kafka", "kafka.Kafka", timeout=5)
    assert single
    node = str((run_dir / "kafka-2" / "server.properties").resolve())
    _sleeping("kafka-2", node)
    try:
        with pytest.raises(StackError, match="cluster"):
            brokers.ensure_brokers(Settings.from_env({}))
    finally:
        processes.stop("kafka-2", node, timeout=5)


def test_down_knows_the_nodes_of_an_earlier_cluster(run_dir: Path) -> None:
    (run_dir / "kafka-2.pid").write_text("1\n")
    names = list(stack.known_specs(Settings.from_env({})))
    assert names[-4:] == ["kafka", "kafka-2", "mariadb", "redis"]
    assert stack.is_server("kafka-2") and not stack.is_server("worker-2")


def test_nodes_are_stopped_together(run_dir: Path) -> None:
    markers = {f"kafka-{n}": f"node-marker-{n}" for n in (1, 2, 3)}
    for name, marker in markers.items():
        _sleeping(name, marker)
    stopped = processes.stop_together(list(markers.items()), timeout=5)
    assert sorted(stopped) == sorted(markers)
    assert all(processes.running_pid(n, m) is None for n, m in markers.items())


def test_a_new_cluster_id_never_looks_like_an_option() -> None:
    # One base64url id in 64 starts with "-", which kafka-storage took for an option.
    assert not any(services.new_cluster_id().startswith("-") for _ in range(2000))
