"""Klaviyo profile deletion through the data privacy deletion API, against the Klaviyo emulator."""

from __future__ import annotations

import pytest
from activation_fixtures import audience_rows, audience_sync

from narrowcast.activation import run_sync
from narrowcast.activation.destinations.klaviyo import request_profile_deletion
from narrowcast.apis.klaviyo import KlaviyoApi
from narrowcast.http import FatalApiError
from narrowcast.privacy.subjects import SALT_VARIABLE
from narrowcast.privacy_purge import run_purge
from narrowcast.warehouse import connect


def test_a_deletion_by_email_removes_the_profile_from_klaviyo_with_its_list_membership(emulators, connections, warehouse):
    # GIVEN three customers synced to a Klaviyo list
    warehouse.replace("audience_members", audience_rows("champions", range(3)))
    run_sync(audience_sync("klaviyo"), connections=connections, warehouse=warehouse.path)
    assert emulators["klaviyo"].snapshot()["lists"]["LIST1"] == ["0", "1", "2"]
    # WHEN customer 1 is deleted by e-mail (as the merchant's request wrote it)
    client = KlaviyoApi.from_connection(connections["narrowcast_klaviyo"])
    request_profile_deletion(client, email="customer.1@example.com")
    # THEN Klaviyo accepted the job and the profile is gone, the others stay
    snapshot = emulators["klaviyo"].snapshot()
    assert snapshot["deletion_requests"] == 1
    assert snapshot["lists"]["LIST1"] == ["0", "2"]
    assert "1" not in snapshot["profiles"]


def test_the_deletion_job_carries_one_identifier_in_klaviyos_documented_shape(emulators, connections):
    client = KlaviyoApi.from_connection(connections["narrowcast_klaviyo"])
    sent = []
    original = client.session.request

    def capture(method, url, **kwargs):
        sent.append((method, url, kwargs["json"]))
        return original(method, url, **kwargs)

    client.session.request = capture
    request_profile_deletion(client, profile_id="01SANDBOX00000001")
    method, url, body = sent[0]
    assert method == "POST" and url.endswith("/api/data-privacy-deletion-jobs")
    assert body == {"data": {"type": "data-privacy-deletion-job", "attributes": {
        "profile": {"data": {"type": "profile", "id": "01SANDBOX00000001", "attributes": {}}}}}}


def test_more_than_one_identifier_is_refused_before_anything_is_sent(connections):
    client = KlaviyoApi.from_connection(connections["narrowcast_klaviyo"])
    with pytest.raises(ValueError, match="exactly one"):
        request_profile_deletion(client, email="a@example.com", phone_number="+4915112345678")


def test_the_emulator_answers_a_two_identifier_job_with_klaviyos_400(emulators, connections):
    client = KlaviyoApi.from_connection(connections["narrowcast_klaviyo"])
    body = {"data": {"type": "data-privacy-deletion-job", "attributes": {"profile": {"data": {
        "type": "profile", "attributes": {"email": "a@example.com", "phone_number": "+4915112345678"}}}}}}
    with pytest.raises(FatalApiError, match="exactly one"):
        client.request("POST", "api/data-privacy-deletion-jobs", json=body)


def test_the_privacy_purge_deletes_the_persons_klaviyo_profile_before_erasing_their_email(
        emulators, connections, warehouse, tmp_path, monkeypatch):
    # GIVEN customer 1's profile in Klaviyo and a delete request naming them by e-mail only
    monkeypatch.setenv(SALT_VARIABLE, "test-salt-not-a-secret")
    warehouse.replace("audience_members", audience_rows("champions", range(3)))
    run_sync(audience_sync("klaviyo"), connections=connections, warehouse=warehouse.path)
    with connect(warehouse.path) as wh:
        wh.execute("create schema if not exists raw")
        wh.execute("create table raw.file_privacy_requests (customer_id varchar, email varchar, request_type varchar)")
        wh.execute("insert into raw.file_privacy_requests values (null, ' Customer.1@Example.com', 'delete')")
    # WHEN the purge runs with the Klaviyo connection
    run_purge(warehouse=warehouse.path, data_dir=tmp_path, klaviyo=connections["narrowcast_klaviyo"])
    # THEN Klaviyo got one deletion job and the profile is gone
    snapshot = emulators["klaviyo"].snapshot()
    assert snapshot["deletion_requests"] == 1
    assert snapshot["lists"]["LIST1"] == ["0", "2"]
