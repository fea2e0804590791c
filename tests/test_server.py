"""``evospikenet serve`` against a real uvicorn server on a loopback port (issue 16).

Every test talks HTTP to a subprocess started by ``python -m evospikenet serve``;
the answers are checked against the package's own functions called directly
(``simulate``, ``load_connectome_npz``/``ei_ratio``, ``generate``, the audit
log's ``verify``), which the server must only wrap.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pyarrow.parquet as pq
import pytest

from evospikenet.audit import AuditLogManager
from evospikenet.connectome import ei_ratio, load_connectome_npz, save_connectome_npz
from evospikenet.errors import APIError
from evospikenet.sdk import AsyncEvoSpikeNetAPIClient, EvoSpikeNetAPIClient
from tests.connectome_synth import synthetic_connectome
from tests.server_proc import ServerProcess

LIMITS = (
    "--limit", "max_duration_ms=5000", "--limit", "max_scale=1", "--limit", "max_population=8",
    "--limit", "max_generations=3", "--limit", "max_bio_neurons=300",
    "--limit", "max_bio_duration_ms=300", "--limit", "max_generate_length=64",
    "--max-body-bytes", "65536", "--max-upload-bytes", "2000000",
)  # fmt: skip


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("serve")
    (root / "deltas").mkdir()
    sync = root / "sync.yaml"
    sync.write_text("sync:\n  source: {directory: deltas}\n  rollback_dir: rollback\n")
    with ServerProcess(root, *LIMITS, "--sync-config", str(sync)) as s:
        yield s


@pytest.fixture(scope="module")
def http(srv: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=srv.url, headers=srv.headers(), timeout=120) as c:
        yield c


def wait_job(http: httpx.Client, path: str, timeout: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = http.get(path).json()
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.2)


# -- auth, limits, CORS ---------------------------------------------------------------------


def test_health_is_open_and_everything_else_needs_a_key(srv: ServerProcess) -> None:
    assert httpx.get(f"{srv.url}/health").json()["status"] == "ok"
    r = httpx.get(f"{srv.url}/api/genomes")
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("ApiKey")
    assert r.json()["detail"] == "missing X-API-Key header"
    assert httpx.get(f"{srv.url}/openapi.json").status_code == 401
    r = httpx.get(f"{srv.url}/api/genomes", headers={"X-API-Key": "not-a-key"})
    assert r.status_code == 401 and r.json()["detail"] == "unknown API key"
    # a read key reads but may not change anything: 403, not 401
    assert httpx.get(f"{srv.url}/api/genomes", headers=srv.headers("reader")).status_code == 200
    r = httpx.post(
        f"{srv.url}/api/sessions", json={"description": "x"}, headers=srv.headers("reader")
    )
    assert r.status_code == 403 and "read-only" in r.json()["detail"]


def test_key_file_holds_only_hashes(srv: ServerProcess) -> None:
    text = srv.key_file.read_text()
    for key in srv.keys.values():
        assert key not in text
        assert hashlib.sha256(key.encode()).hexdigest() in text


def test_cors_is_off_by_default(http: httpx.Client) -> None:
    r = http.get("/api/genomes", headers={"Origin": "https://evil.example"})
    assert r.status_code == 200
    assert "access-control-allow-origin" not in r.headers
    preflight = {"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
    r = http.options("/api/genomes", headers=preflight)
    assert "access-control-allow-origin" not in r.headers


def test_two_workers_with_a_cors_origin(tmp_path: Path) -> None:
    """``--workers 2`` share one data directory; ``--cors-origin`` allows exactly that origin."""
    ok = "https://ok.example"
    with ServerProcess(tmp_path, "--workers", "2", "--cors-origin", ok) as srv:
        with httpx.Client(base_url=srv.url, headers=srv.headers(), timeout=120) as http:
            made = []
            for i in range(20):  # new connections: the kernel spreads them over the workers
                with httpx.Client(base_url=srv.url, headers=srv.headers(), timeout=120) as one:
                    r = one.post("/api/sessions", json={"description": f"s{i}"})
                    assert r.status_code == 201
                    made.append(r.json()["session_id"])
            listed = {x["session_id"] for x in http.get("/api/sessions").json()}
            assert set(made) <= listed
            r = http.get("/api/genomes", headers={"Origin": ok})
            assert r.headers["access-control-allow-origin"] == ok
            r = http.get("/api/genomes", headers={"Origin": "https://evil.example"})
            assert "access-control-allow-origin" not in r.headers
            verified = http.get("/api/audit/verify").json()
        assert verified["valid"] and verified["checked"] == 20


def test_request_size_limits(srv: ServerProcess, http: httpx.Client) -> None:
    big = {"description": "x" * 70_000}
    r = http.post("/api/sessions", json=big)
    assert r.status_code == 413  # Content-Length over max_body_bytes = 65536
    # a chunked upload without Content-Length is stopped while streaming
    chunks = (b"\0" * 100_000 for _ in range(30))  # 3 MB > max_upload_bytes = 2 MB
    r = http.post("/api/artifacts", params={"artifact_type": "blob", "name": "big.bin"},
                  content=chunks)  # fmt: skip
    assert r.status_code == 413
    assert not any(a["name"] == "big.bin" for a in http.get("/api/artifacts").json())
    leftovers = list((srv.data_dir / "artifacts").glob(".upload.*"))
    assert leftovers == []


def test_openapi_is_3_1_with_key_header(http: httpx.Client) -> None:
    schema = http.get("/openapi.json").json()
    assert schema["openapi"].startswith("3.1")
    assert schema["components"]["securitySchemes"]["APIKeyHeader"]["name"] == "X-API-Key"
    assert "/api/simulations/{job_id}" in schema["paths"]
    assert http.get("/docs").status_code == 200


# -- simulations -------------------------------------------------------------------------


def test_simulation_job_matches_simulate(http: httpx.Client, tmp_path: Path) -> None:
    from evospikenet.io import read_spikes
    from evospikenet.simulate import simulate

    body = {"model": "cuba", "duration_ms": 200, "scale": 0.25, "seed": 3}
    r = http.post("/api/simulations", json=body)
    assert r.status_code == 202
    location = r.headers["location"]
    assert location == f"/api/simulations/{r.json()['job_id']}"
    job = wait_job(http, location)
    assert job["status"] == "succeeded" and job["progress"] == 1.0
    res = http.get(f"{location}/result").json()
    (art,) = res["artifacts"]
    assert art["artifact_type"] == "spikes" and art["name"] == "spikes.parquet"
    data = http.get(f"/api/artifacts/{art['artifact_id']}/content").content
    assert hashlib.sha256(data).hexdigest() == art["sha256"]
    path = tmp_path / "got.parquet"
    path.write_bytes(data)
    # the same call made directly gives the same spikes and the same summary
    want = tmp_path / "want.parquet"
    direct = simulate("cuba", duration_ms=200, scale=0.25, seed=3, out=want)
    got_t = pq.read_table(path)
    want_t = pq.read_table(want)
    assert got_t.column("t_ms").equals(want_t.column("t_ms"))
    assert got_t.column("neuron").equals(want_t.column("neuron"))
    assert [p["spikes"] for p in res["result"]["populations"]] == [
        p.spikes for p in direct.populations
    ]
    assert read_spikes(path) is not None


def test_bad_simulations_are_refused_naming_the_field(http: httpx.Client) -> None:
    cases = [
        ({"model": "nosuch"}, "model"),
        ({"model": "cuba", "duration_ms": 1e9}, "duration_ms"),
        ({"model": "cuba", "scale": 50}, "scale"),
        ({"model": "cuba", "params": {"threads": 64}}, "params.threads"),
        ({"model": "cuba", "bogus": 1}, "bogus"),
        ({"spec": "- not a mapping"}, "spec"),
        ({"duration_ms": -1}, "duration_ms"),
    ]
    for body, field in cases:
        r = http.post("/api/simulations", json=body)
        assert r.status_code == 422, (body, r.text)
        assert field in r.json()["detail"], (field, r.json())
    assert http.post("/api/simulations", json={"connectome": "absent"}).status_code == 404


def test_cancel_a_running_job(http: httpx.Client) -> None:
    r = http.post("/api/simulations", json={"model": "cuba", "duration_ms": 5000, "scale": 1})
    loc = r.headers["location"]
    deadline = time.monotonic() + 120
    while http.get(loc).json()["status"] == "queued":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    r = http.delete(loc)
    assert r.status_code in (200, 202), r.text
    job = wait_job(http, loc)
    if job["status"] == "succeeded":  # finished before the cancel arrived: nothing to check
        pytest.skip("the run finished before the cancel")
    assert job["status"] == "cancelled"
    assert http.get(f"{loc}/result").status_code == 409
    assert http.delete(loc).status_code == 409
    assert http.get("/api/artifacts", params={"job_id": job["job_id"]}).json() == []
    # a cancelled job can be resubmitted as a new job with the same parameters
    r = http.post(f"{loc}/resubmit")
    assert r.status_code == 202 and r.json()["params"] == job["params"]
    http.delete(r.headers["location"])


def test_simulation_of_a_spec(http: httpx.Client) -> None:
    spec = """
run: {duration_ms: 100, dt_ms: 0.1, seed: 2}
populations:
  E: {model: lif, n: 100, params: {tau_m_ms: 20}, init: {v_mv: {uniform: [-65, -50]}}}
projections:
  - {pre: E, post: E, p: 0.1, weight: 0.5, delay_ms: 1.0}
inputs:
  - {type: poisson, target: E, rate_hz: 10, n_sources: 1000, weight: 40.0}
"""
    r = http.post("/api/simulations", json={"spec": spec})
    assert r.status_code == 202, r.text
    job = wait_job(http, r.headers["location"])
    assert job["status"] == "succeeded", job["error"]
    assert job["result"]["duration_ms"] == 100.0 and job["result"]["seed"] == 2
    too_long = spec.replace("duration_ms: 100", "duration_ms: 1e7")
    r = http.post("/api/simulations", json={"spec": too_long})
    assert r.status_code == 422 and "duration_ms" in r.json()["detail"]
    r = http.post("/api/simulations", json={"spec": spec.replace("tau_m_ms: 20", "tau_m_ms: -1")})
    job = wait_job(http, r.headers["location"])
    assert job["status"] == "failed" and "tau_m_ms" in job["error"]


# -- evolution, genomes, snapshots ------------------------------------------------------------


def test_module_callable_task_is_refused(http: httpx.Client) -> None:
    r = http.post("/api/evolution", json={"task": "os:system", "population": 2, "generations": 1})
    assert r.status_code == 422
    assert "module:callable" in r.json()["detail"] and "task" in r.json()["detail"]
    assert http.post("/api/evolution", json={"task": "nosuch"}).status_code == 422
    assert http.get("/api/evolution").json() == [] or all(
        j["params"]["task"] in ("digits", "cartpole") for j in http.get("/api/evolution").json()
    )


def test_evolution_snapshots_and_genomes(http: httpx.Client) -> None:
    pytest.importorskip("sklearn")
    r = http.post("/api/evolution", json={"task": "digits", "population": 4, "generations": 2})
    assert r.status_code == 202
    job = wait_job(http, r.headers["location"])
    assert job["status"] == "succeeded", job["error"]
    res = http.get(f"{r.headers['location']}/result").json()
    assert len(res["result"]["history"]) == 2
    (art,) = res["artifacts"]
    best = json.loads(http.get(f"/api/artifacts/{art['artifact_id']}/content").content)
    assert best["genome_id"] == res["result"]["best_genome_id"]
    snaps = [s for s in http.get("/api/snapshots").json() if s["job_id"] == job["job_id"]]
    assert [s["name"] for s in snaps] == ["post_generation_0"]
    r = http.post(f"/api/snapshots/{snaps[0]['id']}/restore", json={"genome_name": "from-snap"})
    assert r.status_code == 200, r.text
    # genomes: save, list, get, apply
    r = http.put("/api/genomes/best", json={"genome": best, "make_active": True})
    assert r.status_code == 200 and r.json() == {
        "name": "best", "genome_id": best["genome_id"], "active": True
    }  # fmt: skip
    rows = {g["name"]: g for g in http.get("/api/genomes").json()}
    assert rows["best"]["active"] and not rows["from-snap"]["active"]
    assert http.get("/api/genomes/best").json() == best
    assert http.post("/api/genomes/from-snap/apply").json()["active"] is True
    assert {g["name"]: g["active"] for g in http.get("/api/genomes").json()}["from-snap"]
    bad = dict(best, dt_ms=-1)
    r = http.put("/api/genomes/bad", json={"genome": bad})
    assert r.status_code == 422 and "dt_ms" in r.json()["detail"]
    assert http.get("/api/genomes/nosuch").status_code == 404


# -- sessions, artifacts -----------------------------------------------------------------------


def test_artifacts_round_trip_in_a_session(http: httpx.Client) -> None:
    sid = http.post("/api/sessions", json={"description": "run 1"}).json()["session_id"]
    payload = np.random.default_rng(1).bytes(300_000)
    r = http.post(
        "/api/artifacts",
        params={"session_id": sid, "artifact_type": "model", "name": "w.bin", "llm_type": "X"},
        content=payload,
    )
    assert r.status_code == 201, r.text
    art = r.json()
    assert art["sha256"] == hashlib.sha256(payload).hexdigest() and art["size"] == len(payload)
    assert art["metadata"] == {"llm_type": "X"}
    assert http.get(r.headers["location"]).json()["artifact_id"] == art["artifact_id"]
    assert http.get(f"/api/artifacts/{art['artifact_id']}/content").content == payload
    assert [a["artifact_id"] for a in http.get(f"/api/sessions/{sid}/artifacts").json()] == [
        art["artifact_id"]
    ]
    types = {
        a["artifact_type"]
        for a in http.get("/api/artifacts", params={"artifact_type": "model"}).json()
    }
    assert types == {"model"}
    assert http.get(f"/api/sessions/{sid}").json()["artifact_count"] == 1
    r = http.post("/api/artifacts", params={"artifact_type": "x", "name": "../etc"}, content=b"1")
    assert r.status_code == 422


# -- connectomes -------------------------------------------------------------------------------


def test_connectome_upload_info_delta_and_sync(
    srv: ServerProcess, http: httpx.Client, tmp_path: Path
) -> None:
    c = synthetic_connectome()
    npz = tmp_path / "c.npz"
    save_connectome_npz(npz, c)
    r = http.put("/api/connectomes/worm", content=npz.read_bytes())
    assert r.status_code == 200, r.text
    info = r.json()
    assert info["n_neurons"] == c.n_neurons and info["n_edges"] == c.n_edges
    assert info["ei_ratio"] == pytest.approx(ei_ratio(c), rel=0, abs=0)
    assert info["materialization_version"] == 1
    assert http.put("/api/connectomes/junk", content=b"not an npz").status_code == 422
    # an edge added between two existing neurons
    pre, post = int(c.neuron_id[0]), int(c.neuron_id[1])
    delta = {
        "schema_version": "1.0", "materialization_version_from": 1,
        "materialization_version_to": 2,
        "added": [{"pre_id": pre, "post_id": post, "weight": 2.0, "delay_ms": 1.0}],
        "removed": [],
    }  # fmt: skip
    if any((c.pre_id == pre) & (c.post_id == post) & (c.synapse_type == 0)):
        delta["added"][0]["pre_id"], delta["added"][0]["post_id"] = post, pre
    before = http.get("/api/connectomes/worm/content").content
    # an E/I range the result misses: refused, the stored file unchanged
    r = http.post("/api/connectomes/worm/delta", json=delta,
                  params={"ei_ratio_min": 100, "ei_ratio_max": 200})  # fmt: skip
    assert r.status_code == 422 and r.json()["error"] == "ConnectomeSyncValidationError"
    assert http.get("/api/connectomes/worm/content").content == before
    r = http.post("/api/connectomes/worm/delta", json=delta)
    assert r.status_code == 200, r.text
    assert r.json()["connectome"]["n_edges"] == c.n_edges + 1
    assert r.json()["connectome"]["materialization_version"] == 2
    got = tmp_path / "got.npz"
    got.write_bytes(http.get("/api/connectomes/worm/content").content)
    assert load_connectome_npz(got).n_edges == c.n_edges + 1
    # sync from the server's delta directory: nothing newer yet, then one delta 2 -> 3
    r = http.post("/api/connectomes/worm/sync", json={})
    assert r.status_code == 200 and r.json()["status"] == "no_update"
    gone = {"pre_id": int(c.pre_id[0]), "post_id": int(c.post_id[0])}
    step = dict(delta, materialization_version_from=2, materialization_version_to=3)
    step.update(added=[], removed=[gone])
    (srv.root / "deltas" / "d3.json").write_text(json.dumps(step))
    r = http.post("/api/connectomes/worm/sync", json={"dry_run": True})
    assert r.json()["status"] == "dry_run" and r.json()["version_to"] == 3
    assert http.get("/api/connectomes/worm").json()["materialization_version"] == 2
    r = http.post("/api/connectomes/worm/sync", json={})
    assert r.status_code == 200 and r.json()["status"] == "success", r.text
    info = http.get("/api/connectomes/worm").json()
    assert info["materialization_version"] == 3 and info["n_edges"] == c.n_edges
    # a simulation of the uploaded connectome
    r = http.post("/api/simulations", json={"connectome": "worm", "duration_ms": 50})
    assert wait_job(http, r.headers["location"])["status"] == "succeeded"


# -- audit ---------------------------------------------------------------------------------


def test_audit_endpoints(srv: ServerProcess, http: httpx.Client) -> None:
    r = http.post("/api/audit/log", json={"action": "model.deploy", "actor": "ci", "resource": "/m",
                                          "detail": {"v": 1}})  # fmt: skip
    assert r.status_code == 201
    out = r.json()
    (entry,) = http.get("/api/audit/logs", params={"action": "model.deploy"}).json()["entries"]
    assert entry["actor"] == "alice"  # the key, not the claim
    assert entry["detail"]["claimed_actor"] == "ci"
    assert entry["entry_hash"] == out["entry_hash"]
    stats = http.get("/api/audit/stats").json()
    assert stats["entries"] >= 1 and "alice" in stats["by_actor"]
    v = http.get("/api/audit/verify").json()
    assert (v["valid"] and v["checked"] == stats["entries"]) or v["checked"] >= stats["entries"]
    js = http.get("/api/audit/export", params={"format": "json"}).json()
    rows = list(
        csv.DictReader(io.StringIO(http.get("/api/audit/export", params={"format": "csv"}).text))
    )
    assert len(rows) >= len(js) >= 1
    assert js[0]["seq"] == 0 and rows[0]["entry_hash"] == js[0]["entry_hash"]
    assert http.get("/api/audit/export", params={"format": "xml"}).status_code == 422
    # the log file itself verifies with the project's own verifier
    assert AuditLogManager(srv.data_dir / "audit.jsonl").verify()["valid"]


def test_one_audit_entry_per_mutating_request(srv: ServerProcess, http: httpx.Client) -> None:
    mine = []
    for r in (
        http.post("/api/sessions", json={"description": "a"}),
        http.post("/api/sessions", json={"description": 5}),  # 422
        http.post("/api/genomes/nosuch/apply"),  # 404
        httpx.post(
            f"{srv.url}/api/sessions", json={"description": "b"}, headers=srv.headers("reader")
        ),
    ):
        mine.append((r.headers["x-request-id"], r.status_code))
    entries = AuditLogManager(srv.data_dir / "audit.jsonl").query(limit=None)
    by_request: dict[str, list[dict[str, Any]]] = {}
    for e in entries:
        rid = e["detail"].get("request_id")
        if rid:
            by_request.setdefault(rid, []).append(e)
    for rid, status in mine:
        (e,) = by_request[rid]
        assert e["detail"]["status"] == status
        assert e["result"] == ("success" if status < 400 else "failure")
    assert by_request[mine[3][0]][0]["actor"] == "reader"


# -- biomimetic and the language model ----------------------------------------------------------


def test_biomimetic_endpoints(http: httpx.Client) -> None:
    from evospikenet.biomimetic.framework import BrainSimulationFramework

    status = http.get("/biomimetic/status").json()
    assert status["biomimetic_enabled"] is True
    r = http.post("/biomimetic/neuromod/update", json={"dopamine": 0.8, "serotonin": 0.5})
    assert r.json()["updated_levels"]["dopamine"] == 0.8
    assert http.post("/biomimetic/neuromod/update", json={"dopamine": 2}).status_code == 422
    r = http.post("/biomimetic/reward", json={"reward": 1.0, "td_error": 0.35})
    assert r.json()["td_error"] == 0.35
    assert http.post("/biomimetic/sleep/wake-config", json={"awake_phase_steps": 50}).json()[
        "config_applied"]["awake_phase_steps"] == 50  # fmt: skip
    assert http.post("/biomimetic/sleep/consolidate", json={"sleep_cycles": 1}).json()[
        "cycles_completed"] == 1  # fmt: skip
    assert http.post("/biomimetic/framework/reset", json={}).json()["status"] == "ok"
    assert http.get("/biomimetic/status").json()["neuromod_levels"]["dopamine"] != 0.8
    body = {"num_neurons": 100, "duration": 200, "sleep_every": 100, "seed": 4}
    r = http.post("/biomimetic/simulate", json=body)
    assert r.status_code == 200, r.text
    # the same run made directly
    fw = BrainSimulationFramework(
        True, {"num_neurons": 100, "duration": 200, "sleep_every": 100, "seed": 4}
    )
    assert r.json()["spikes_total"] == fw.run_simulation(200)["spikes_total"]
    assert http.post("/biomimetic/simulate", json={"num_neurons": 10_000}).status_code == 422


def test_generate_matches_the_local_model(http: httpx.Client) -> None:
    pytest.importorskip("torch")
    from evospikenet.nn.train import default_checkpoint, generate, load_checkpoint

    r = http.post("/generate", json={"prompt": "ROMEO:", "max_length": 30, "seed": 7})
    assert r.status_code == 200, r.text
    model = load_checkpoint(default_checkpoint())[0]
    assert r.json()["generated_text"] == generate(model, "ROMEO:", 30, 0.8, 7)
    assert http.post("/generate", json={"prompt": "x", "max_length": 65}).status_code == 422


# -- SDK -----------------------------------------------------------------------------------------


def test_sdk_client(srv: ServerProcess, tmp_path: Path) -> None:
    with EvoSpikeNetAPIClient(srv.url, api_key=srv.key, timeout=120) as client:
        assert client.is_server_healthy() and client.wait_for_server(timeout=5)
        job = client.submit_simulation("cuba", duration_ms=100, scale=0.25)
        done = client.wait_for_job(job["job_id"])
        assert done["status"] == "succeeded"
        art = client.get_simulation_job_result(job["job_id"])["artifacts"][0]
        client.download_artifact(art["artifact_id"], tmp_path / "s.parquet")
        assert hashlib.sha256((tmp_path / "s.parquet").read_bytes()).hexdigest() == art["sha256"]
        session = client.create_log_session("sdk")
        up = client.upload_artifact(session["session_id"], "config", "c.json", io.BytesIO(b"{}"))
        assert client.get_artifact(up["artifact_id"]) == b"{}"
        assert client.list_artifacts("config")[0]["artifact_id"] == up["artifact_id"]
        with pytest.raises(APIError) as err:
            client.submit_simulation("nosuch")
        assert (
            err.value.status_code == 422
            and err.value.error_info.error_type == "InvalidParameterError"
        )
        assert client.with_error_handling(client.submit_simulation, "nosuch") is None
        assert client.verify_audit_chain()["valid"]
        assert client.get_server_info()["limits"]["max_scale"] == 1.0
        assert client.get_stats()["requests"] > 5
        # the brain endpoints are absent until a brain is attached
        with pytest.raises(APIError) as err:
            client.get_simulation_status()
        assert err.value.status_code == 404
    with EvoSpikeNetAPIClient(srv.url, api_key=srv.keys["reader"]) as reader:
        with pytest.raises(APIError) as err:
            reader.create_log_session("x")
        assert err.value.status_code == 403


def test_async_sdk_client(srv: ServerProcess) -> None:
    import asyncio

    async def main() -> list[Any]:
        async with AsyncEvoSpikeNetAPIClient(srv.url, api_key=srv.key, timeout=120) as client:
            assert await client.wait_for_server(timeout=5)
            jobs = await asyncio.gather(
                *(
                    client.submit_simulation("cuba", duration_ms=50, scale=0.1, seed=s)
                    for s in range(3)
                )
            )
            return [await client.wait_for_job(j["job_id"]) for j in jobs]

    assert [j["status"] for j in asyncio.run(main())] == ["succeeded"] * 3
