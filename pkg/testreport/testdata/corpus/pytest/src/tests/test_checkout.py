import os

import pytest

from shop import Gateway


@pytest.fixture
def gateway(rng):
    scheme = "http" if os.environ.get("CORPUS_SETUP") == "1" else "https"
    return Gateway(f"{scheme}://pay-{rng.randint(1, 9)}.example.com")


def test_pay_with_card(gateway):
    assert gateway.url


def test_refund(gateway):
    assert gateway.url.endswith(".com")
