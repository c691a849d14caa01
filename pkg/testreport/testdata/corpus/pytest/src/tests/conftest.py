import os
import random

import pytest


@pytest.fixture
def rng(request):
    return random.Random(f"{os.environ.get('CORPUS_SEED', '1')}-{request.node.name}")
