"""Two stacks on one machine never mix: a taken port is refused by name, and with their own
ports each stack's runs use its own code server, data folder and instance."""

import pytest

from liftflow.devstack import StackProcess

pytestmark = pytest.mark.e2e


def _upload(stack, path, truth) -> str:
    with stack.client() as c, open(path, "rb") as f:
        r = c.post("/api/v1/videos/upload", files={"file": ("s.mp4", f, "video/mp4")},
                   data={"disc_center_x": truth.x[0], "disc_center_y": truth.y[0], "disc_radius": truth.r[0]})
    assert r.status_code == 200, r.text
    return r.json()["video_id"]


def test_two_stacks_on_one_machine_never_share_a_code_server_or_a_job(tmp_path, synth_clip):
    path, truth = synth_clip
    a = StackProcess(tmp_path / "a").start()
    try:
        # a second stack on the first one's code-server port: refused before anything starts
        clash = StackProcess(tmp_path / "clash", LIFTFLOW_CODE_SERVER_PORT=str(a.grpc_port))
        with pytest.raises(RuntimeError) as ei:
            clash.start(timeout=60)
        said = str(ei.value)
        assert f"port {a.grpc_port} (LIFTFLOW_CODE_SERVER_PORT, for the code-server) is already in use by pid" in said
        assert "liftflow.orchestration.code_server" in said  # the owner's command line
        assert not (tmp_path / "clash" / "dagster_home").exists()
        assert len(a.find("liftflow.orchestration.code_server -h")) == 1

        b = StackProcess(tmp_path / "b").start()
        try:
            ja, jb = _upload(a, path, truth), _upload(b, path, truth)
            assert a.wait_status(ja)["status"] == "completed"
            assert b.wait_status(jb)["status"] == "completed"
            for own, other, jid in ((a, b, ja), (b, a, jb)):
                assert (own.data_dir / "api" / "results" / jid / "result.json").is_file()
                assert not (other.data_dir / "api" / "results" / jid).exists()
                with other.client() as c:
                    assert c.get(f"/api/v1/videos/{jid}/status").status_code == 404
                runs = own.instance().get_runs()
                assert [r.tags.get("job_id") for r in runs] == [jid]
                lift = runs[0].run_config["resources"]["lift"]["config"]
                assert lift["job_dir"].startswith(str(own.data_dir))
                # launched through this stack's own code server
                origin = runs[0].remote_job_origin.repository_origin.code_location_origin
                assert origin.port == own.grpc_port != other.grpc_port
        finally:
            assert b.stop() == 0, b.tail()
    finally:
        assert a.stop() == 0, a.tail()
