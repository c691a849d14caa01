import os

import pytest

from shop import line_for, total


class TestCart:
    def items(self, rng):
        return [(rng.randint(100, 5000), rng.randint(1, 5)) for _ in range(2)]

    @pytest.mark.parametrize("pct", [0, 10, 75])
    def test_total(self, rng, pct, record_property):
        items = self.items(rng)
        record_property("discount", str(pct))
        s = sum(p * q for p, q in items)
        print(f"cart {items} at {pct}% off")
        assert total(items, pct) == s - s * pct // 100

    def test_line_for_missing_sku(self, rng):
        lines = {f"sku-{rng.randint(1000, 9999)}": 1}
        assert line_for(lines, f"sku-{rng.randint(1000, 9999)}") == 0

    @pytest.mark.skip(reason="gift wrapping is not offered yet")
    def test_gift_wrap(self):
        pass

    @pytest.mark.xfail(reason="rounding is known to be off", strict=False)
    def test_rounding(self, rng):
        assert total([(rng.randint(1, 99), 3)], 33) == 0


def test_inventory(rng):
    stock = rng.randint(1, 20)
    if os.environ.get("CORPUS_FLAKY") == "1":
        assert {"stock": stock - 1} == {"stock": stock}
