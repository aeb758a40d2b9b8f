import pytest

from edgesr._deps import require
from edgesr.errors import EdgesrError, MissingDependencyError


def test_require_names_the_extra():
    assert require("json", "core").dumps([]) == "[]"
    with pytest.raises(MissingDependencyError, match=r"pip install 'edgesr\[tflite\]'") as info:
        require("no_such_module_xyz", "tflite")
    assert isinstance(info.value, EdgesrError) and isinstance(info.value, ImportError)
