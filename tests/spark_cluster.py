"""A real Spark standalone cluster on loopback for the tests: one master and two workers started with
``spark-class`` from the installed PySpark, shared by every test module of the process and stopped at exit.

``cluster_master()`` starts it on first use and returns its ``spark://127.0.0.1:PORT`` URL (the workspaces'
``[spark] master``). Set ``YUNYING_SPARK_MASTER`` to use another master (``local[*]`` runs the parity
suite in local mode). Small settings so it fits a 2-core CI runner: each worker offers 1 core and 1 GiB.
"""
from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from servers import free_port

WORKERS = 2
WORKER_MEMORY = "1g"
EXECUTOR_MEMORY = "768m"

_STATE: dict = {}


def _spark_class() -> str:
    import pyspark

    return str(Path(pyspark.__file__).parent / "bin" / "spark-class")


def _env(log_dir: Path) -> dict:
    env = dict(os.environ)
    import pyspark

    env["SPARK_HOME"] = str(Path(pyspark.__file__).parent)
    env["SPARK_LOCAL_IP"] = "127.0.0.1"
    env["PYSPARK_PYTHON"] = sys.executable
    env["SPARK_LOG_DIR"] = str(log_dir)
    src = str(Path(__file__).resolve().parents[1] / "src")  # the executors import this checkout's yunying
    env["PYTHONPATH"] = os.pathsep.join([src] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    return env


def _alive_workers(ui_port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{ui_port}/json/", timeout=2) as r:
            return int(json.load(r).get("aliveworkers", 0))
    except OSError:
        return 0


def start_cluster(workers: int = WORKERS, timeout: float = 120) -> dict:
    """Start a master and ``workers`` workers; returns ``{"url", "procs", "dir"}``. Raises if they are not all
    registered within ``timeout`` seconds (with the end of the master's log)."""
    base = Path(tempfile.mkdtemp(prefix="yunying-cluster-"))
    env = _env(base)
    port, ui = free_port(), free_port()
    url = f"spark://127.0.0.1:{port}"
    procs = []
    log = open(base / "master.log", "wb")
    procs.append(subprocess.Popen([_spark_class(), "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                                   "--port", str(port), "--webui-port", str(ui)], env=env, stdout=log,
                                  stderr=subprocess.STDOUT))
    for i in range(workers):
        wdir = base / f"worker{i}"
        wdir.mkdir()
        wlog = open(base / f"worker{i}.log", "wb")
        procs.append(subprocess.Popen([_spark_class(), "org.apache.spark.deploy.worker.Worker", url,
                                       "--host", "127.0.0.1", "--cores", "1", "--memory", WORKER_MEMORY,
                                       "--webui-port", str(free_port()), "--work-dir", str(wdir)],
                                      env=env, stdout=wlog, stderr=subprocess.STDOUT))
    cluster = {"url": url, "procs": procs, "dir": base, "ui": ui}
    deadline = time.time() + timeout
    while _alive_workers(ui) < workers:
        if time.time() > deadline or any(p.poll() is not None for p in procs):
            stop_cluster(cluster)
            tail = (base / "master.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"the Spark cluster did not start ({workers} workers wanted); master log:\n{tail}")
        time.sleep(0.5)
    return cluster


def stop_cluster(cluster: dict) -> None:
    for p in cluster["procs"]:
        if p.poll() is None:
            p.terminate()
    for p in cluster["procs"]:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
    shutil.rmtree(cluster["dir"], ignore_errors=True)


def cluster_master() -> str:
    """The master URL the Spark tests use: ``YUNYING_SPARK_MASTER`` if set, else this process's cluster
    (started on first call, stopped at exit)."""
    if os.environ.get("YUNYING_SPARK_MASTER"):
        return os.environ["YUNYING_SPARK_MASTER"]
    if "cluster" not in _STATE:
        os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"  # the driver (this process) listens on loopback too
        _STATE["cluster"] = start_cluster()
        atexit.register(stop_cluster, _STATE["cluster"])
    return _STATE["cluster"]["url"]


def cluster_settings() -> dict:
    """``[spark]`` settings for a workspace analysed on the test cluster."""
    return {"master": cluster_master(), "driver_memory": "1g",
            "conf": {"spark.executor.memory": EXECUTOR_MEMORY, "spark.executor.cores": "1",
                     "spark.sql.shuffle.partitions": "4"}}
