"""A provider's result is held to the checks an upload is: stored as what its bytes are (a
vendor may label a JPEG image/png), refused when it is off the list or over the pixel cap."""

from __future__ import annotations

import pytest

from executions.assets import asset_from_output
from executions.models import Asset, NodeRun
from executions.providers import OutputFile, ProviderError
from executions.services import execution_start
from tests.graph.builders import edge, node
from tests.media_files import header_only_png, pillow

pytestmark = [pytest.mark.django_db, pytest.mark.storage]


@pytest.fixture
def node_run(team, media_storage) -> NodeRun:
    execution = execution_start(team=team, nodes=[
        node("text", "input:text", {"prompt": "a kite"}),
        node("preview", "generate:local_preview", {"seed": 1, "width": 256, "height": 192}),
    ], edges=[edge("e1", "text", "prompt", "preview", "prompt")])
    return NodeRun.objects.get(execution=execution, node_id="preview")


def test_a_result_labelled_png_that_is_a_jpeg_is_stored_as_a_jpeg(node_run):
    asset = asset_from_output(node_run=node_run, simulated=False,
                              output=OutputFile(pillow("JPEG", (12, 8)), "image/png", "png"))
    assert asset.mime == "image/jpeg" and asset.file.name.endswith(".jpg")
    with asset.file.open("rb") as stored:
        assert stored.read()[:3] == b"\xff\xd8\xff"  # written whole, read back through storage
    assert (asset.width, asset.height) == (12, 8)


@pytest.mark.parametrize("data", [pillow("BMP"), pillow("TIFF"), header_only_png(13000, 13000)],
                         ids=["bmp", "tiff", "pixel-bomb"])
def test_a_result_off_the_list_or_over_the_pixel_cap_fails_the_node_and_stores_nothing(
        node_run, media_storage, data):
    with pytest.raises(ProviderError) as raised:
        asset_from_output(node_run=node_run, simulated=False,
                          output=OutputFile(data, "image/png", "png"))
    assert raised.value.kind == "invalid" and "refused" in raised.value.message
    assert Asset.objects.count() == 0 and media_storage.names() == []
