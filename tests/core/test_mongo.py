"""The adapter against a real wire-protocol server: ping, one exception type, idempotent indexes."""

import pytest

from core import mongo
from tests.mongo import start_embedded


def test_the_adapter_reaches_the_embedded_server(mongo_db):
    assert mongo.ping()
    mongo.collection("smoke").insert_one({"_id": "a", "n": 1})
    assert mongo.collection("smoke").find_one({"_id": "a"})["n"] == 1


def test_indexes_are_created_idempotently(mongo_db):
    mongo.register_indexes(mongo.IndexSpec("smoke", (("n", mongo.ASCENDING),), "n_unique", {"unique": True}))
    mongo.ensure_indexes()
    mongo.ensure_indexes()
    mongo.collection("smoke").insert_one({"n": 1})
    with pytest.raises(mongo.DuplicateKeyError):
        mongo.collection("smoke").insert_one({"n": 1})


def test_a_stopped_server_is_one_exception_and_fast(settings, tmp_path):
    server = start_embedded(tmp_path)
    settings.MONGODB_URI = server.uri
    settings.MONGODB_TIMEOUT_MS = 300
    mongo.reset()
    try:
        assert mongo.ping()
        server.stop()
        mongo.reset()
        assert not mongo.ping()
        with pytest.raises(mongo.MongoUnavailable), mongo.guard():
            mongo.collection("smoke").insert_one({"n": 2})
    finally:
        server.stop()
        mongo.reset()


def test_no_uri_means_unavailable(settings):
    settings.MONGODB_URI = ""
    mongo.reset()
    with pytest.raises(mongo.MongoUnavailable):
        mongo.database()
    mongo.reset()
