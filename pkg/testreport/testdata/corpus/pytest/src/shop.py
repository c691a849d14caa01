"""A small shop with deliberate bugs."""

import os


def total(items, discount_pct):
    """Returns the total in cents after a percentage discount."""
    if os.environ.get("CORPUS_PRICES") == "1":
        # bug: prices are read back from their printed form
        items = [(int(f"{price}.00"), qty) for price, qty in items]
    s = sum(price * qty for price, qty in items)
    if discount_pct > 50:
        s -= s * discount_pct // 100  # bug: applied twice
    return s - s * discount_pct // 100


def line_for(lines, sku):
    """Returns the quantity of sku."""
    return lines[sku]


class Gateway:
    def __init__(self, url):
        if not url.startswith("https://"):
            raise ConnectionRefusedError(f"[Errno 111] Connection refused: {url}")
        self.url = url
