import pytest

from audit_logs import demo
from audit_logs.collections import CHAIN_VERIFICATIONS, REQUEST_LOG, REQUEST_STATS_DAILY
from core import mongo

pytestmark = pytest.mark.django_db


def test_the_demo_history_fills_the_auditor_screens_and_a_second_run_adds_nothing(personas, mongo_db, settings):
    settings.DEMO_LOG_REQUESTS = 400
    assert "400 requests" in demo.seed()
    requests = mongo.collection(REQUEST_LOG).count_documents({})
    assert requests == 400
    assert mongo.collection(REQUEST_STATS_DAILY).count_documents({}) > 0
    assert mongo.collection(CHAIN_VERIFICATIONS).find_one({}, sort=[("at", -1)])["ok"] is True
    demo.seed()
    assert mongo.collection(REQUEST_LOG).count_documents({}) == requests
