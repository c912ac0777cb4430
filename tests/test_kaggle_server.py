"""The loopback Kaggle server keeps to the wire protocol the official clients expect."""

from __future__ import annotations

import pytest
import requests

from tests.kaggle_server import FAKE_KEY, FAKE_USER, log_text


def sdk_client(username: str | None = FAKE_USER, key: str | None = FAKE_KEY):
    from kagglesdk.kaggle_client import KaggleClient
    from kagglesdk.kaggle_env import KaggleEnv

    return KaggleClient(env=KaggleEnv.LOCAL, username=username, password=key)


def status_request(slug: str = "some-kernel"):
    from kagglesdk.kernels.types.kernels_api_service import ApiGetKernelSessionStatusRequest

    request = ApiGetKernelSessionStatusRequest()
    request.user_name = FAKE_USER
    request.kernel_slug = slug
    return request


def test_requests_without_credentials_get_401_as_json(kaggle_server_anonymous):
    with sdk_client(None, None) as client, pytest.raises(requests.HTTPError) as info:
        client.kernels.kernels_api_client.get_kernel_session_status(status_request())
    assert info.value.response.status_code == 401
    assert info.value.response.json()["code"] == 401
    (call,) = kaggle_server_anonymous.calls("GetKernelSessionStatus")
    assert call.service == "kernels.KernelsApiService" and call.user is None and call.status == 401


def test_recorded_requests_hold_no_secrets(kaggle_server):
    kaggle_server.add_kernel(f"{FAKE_USER}/some-kernel")
    with sdk_client() as client:
        client.kernels.kernels_api_client.get_kernel_session_status(status_request())
    (call,) = kaggle_server.calls("GetKernelSessionStatus")
    assert call.user == FAKE_USER
    assert "Authorization" not in call.headers and FAKE_KEY not in repr(call)
    assert call.body == {"userName": FAKE_USER, "kernelSlug": "some-kernel"}
    assert call.path == "/api/v1/kernels.KernelsApiService/GetKernelSessionStatus"


def test_default_values_are_left_out_of_answers(kaggle_server):
    kaggle_server.add_kernel(f"{FAKE_USER}/some-kernel")
    kaggle_server.set_status(f"{FAKE_USER}/some-kernel", "QUEUED")
    proxies = {"http": kaggle_server.url}
    answer = requests.post(
        "http://localhost/api/v1/kernels.KernelsApiService/GetKernelSessionStatus",
        json={"userName": FAKE_USER, "kernelSlug": "some-kernel"},
        auth=(FAKE_USER, FAKE_KEY),
        proxies=proxies,
        timeout=10,
    )
    assert answer.status_code == 200 and answer.json() == {}  # QUEUED is the enum's default


def test_unknown_rpc_is_404(kaggle_server):
    answer = requests.post(
        "http://localhost/api/v1/kernels.KernelsApiService/NoSuchMethod",
        json={},
        auth=(FAKE_USER, FAKE_KEY),
        proxies={"http": kaggle_server.url},
        timeout=10,
    )
    assert answer.status_code == 404 and "NoSuchMethod" in answer.json()["message"]


def test_resumable_upload_protocol(kaggle_server):
    from kagglesdk.blobs.types.blob_api_service import ApiBlobType, ApiStartBlobUploadRequest

    request = ApiStartBlobUploadRequest()
    request.type = ApiBlobType.DATASET
    request.name = "data.bin"
    request.content_length = 20
    with sdk_client() as client:
        started = client.blobs.blob_api_client.start_blob_upload(request)
    url = started.create_url
    assert url.startswith(kaggle_server.url + "/upload/")

    def put(data: bytes, content_range: str) -> requests.Response:
        return requests.put(url, data=data, headers={"Content-Range": content_range}, timeout=10)

    first = put(b"0123456789", "bytes 0-9/20")
    assert (first.status_code, first.headers["Range"]) == (308, "bytes=0-9")
    assert put(b"", "bytes */20").status_code == 308
    assert put(b"abcdefghij", "bytes 10-19/20").status_code == 200
    assert put(b"", "bytes */20").status_code == 200
    assert bytes(kaggle_server.state.blobs[started.token].data) == b"0123456789abcdefghij"


def test_faults_count_down_then_the_call_runs(kaggle_server):
    kaggle_server.add_kernel(f"{FAKE_USER}/some-kernel")
    kaggle_server.fail("GetKernelSessionStatus", 503, times=2, retry_after=7)
    statuses = []
    with sdk_client() as client:
        for _ in range(3):
            try:
                client.kernels.kernels_api_client.get_kernel_session_status(status_request())
                statuses.append(200)
            except requests.HTTPError as exc:
                statuses.append(exc.response.status_code)
                assert exc.response.headers["Retry-After"] == "7"
    assert statuses == [503, 503, 200]


def test_a_fault_can_let_calls_through_first_and_come_after_the_work(kaggle_server):
    """``skip`` lets the check before a write pass and fails the one after it; ``acted`` does the work, then
    answers the error; each request records the fault it met."""
    kaggle_server.add_kernel(f"{FAKE_USER}/some-kernel")
    kaggle_server.fail("GetKernelSessionStatus", 500, skip=1, acted=True)
    kaggle_server.set_status(f"{FAKE_USER}/some-kernel", "RUNNING", "COMPLETE")
    statuses = []
    with sdk_client() as client:
        for _ in range(3):
            try:
                statuses.append(client.kernels.kernels_api_client.get_kernel_session_status(status_request()).status)
            except requests.HTTPError as exc:
                statuses.append(exc.response.status_code)
    assert [s if isinstance(s, int) else s.name for s in statuses] == ["RUNNING", 500, "COMPLETE"]
    assert [c.fault for c in kaggle_server.calls("GetKernelSessionStatus")] == [None, "500 after acting", None]


def test_log_text_is_kaggles_format():
    assert log_text([("stdout", 1.5, "a\n")]) == '[{"stream_name": "stdout", "time": 1.5, "data": "a\\n"}]'
