"""``[spark] conf``: extra Spark settings round-trip through yunying.toml and are only written when set."""
from __future__ import annotations

from yunying.config import WorkspaceConfig


def test_spark_conf_round_trip(tmp_path):
    cfg = WorkspaceConfig(spark={"master": "spark://127.0.0.1:7077",
                                 "conf": {"spark.executor.memory": "4g", "spark.sql.shuffle.partitions": "400"}})
    cfg.save(tmp_path / "yunying.toml")
    back = WorkspaceConfig.load(tmp_path / "yunying.toml")
    assert back.spark.master == "spark://127.0.0.1:7077"
    assert back.spark.conf == {"spark.executor.memory": "4g", "spark.sql.shuffle.partitions": "400"}


def test_empty_spark_conf_is_not_written():
    assert "conf" not in WorkspaceConfig().to_toml()
