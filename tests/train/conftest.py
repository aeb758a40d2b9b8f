import pytest
import torch


@pytest.fixture(autouse=True)
def _keep_torch_threads():
    """A training run's ``threads`` sets torch's thread count for the whole process: restore it,
    so the tests after these do not run on one thread."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)
