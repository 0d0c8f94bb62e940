"""Sound in the editor: an audio file dropped on the canvas becomes an Audio Input; a run's
sound previews on its node as a waveform over a player, and plays in the viewer; an assembled
video plays in the viewer. axe finds no serious or critical violation with them on screen."""

from __future__ import annotations

import base64

import pytest

from tests.browser.conftest import SHOTS
from tests.browser.conftest import open_graph as _open
from tests.browser.test_accessibility import axe
from tests.media_files import audio

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_an_audio_file_dropped_on_the_canvas_becomes_an_audio_input(tab, server, team,
                                                                    designer):
    from tests.graph.builders import node

    created = _open(tab, server, team, designer, "Drops", [
        node("prompt", "input:text", {"prompt": "a voice-over"})], [])
    tab.evaluate("""([data, x, y]) => {
        const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0));
        const transfer = new DataTransfer();
        transfer.items.add(new File([bytes], 'voice.mp3', {type: 'audio/mpeg'}));
        const pane = document.querySelector('.react-flow__pane');
        for (const type of ['dragover', 'drop']) {
            pane.dispatchEvent(new DragEvent(type, {bubbles: true, cancelable: true,
                                                    dataTransfer: transfer, clientX: x,
                                                    clientY: y}));
        }
    }""", [base64.b64encode(audio("mp3")).decode(), 500, 500])
    tab.wait_for_selector("[data-testid=node-audio-1]")
    tab.wait_for_selector("[data-testid=save-state][data-state=saved]", timeout=15000)
    created.refresh_from_db()
    (sound,) = [n for n in created.nodes if n["data"]["nodeType"] == "input:audio"]
    assert sound["data"]["config"]["url"].split("?")[0].endswith(".mp3")
    # Its inspector offers a sound upload and a player for the sound it has.
    tab.click("[data-testid=node-audio-1] .node-title")
    tab.wait_for_selector("[data-testid=inspector] [data-testid=url-audio]")
    assert tab.get_attribute("[data-testid=inspector] [data-testid=upload]",
                             "accept") == "audio/*"


def _sound_url(team, seconds: float = 3.0) -> str:
    from executions.assets import asset_upload

    voice = asset_upload(team=team, data=audio("wav", seconds), declared_mime="audio/wav")
    return f"/media/{voice.file.name}"


def test_a_sound_previews_as_a_waveform_with_a_player_and_plays_in_the_viewer(
        tab, server, team, designer):
    from tests.graph.builders import edge, node

    _open(tab, server, team, designer, "Voice", [
        node("voice", "input:audio", {"url": _sound_url(team)}),
        node("trim", "audio:trim", {"start": 0.5, "end": 2.5}),
    ], [edge("e1", "voice", "audio", "trim", "audio")])
    tab.wait_for_selector("[data-testid=save-state][data-state=saved]", timeout=15000)
    tab.click("[data-testid=run]")
    tab.wait_for_selector("[data-testid=node-trim][data-status=COMPLETED]", timeout=120000)
    tab.mouse.move(5, 300)  # off the Run button
    waveform = tab.locator("[data-testid=node-trim] .node-waveform img.node-preview")
    waveform.wait_for()
    tab.wait_for_function("img => img.complete && img.naturalWidth === 768",
                          arg=waveform.element_handle())
    player = tab.locator("[data-testid=node-trim] audio[data-testid=node-audio]")
    duration = tab.evaluate("""audio => new Promise(done => {
        audio.preload = 'metadata';
        audio.addEventListener('loadedmetadata', () => done(audio.duration), {once: true});
        audio.load();
    })""", player.element_handle())
    assert duration == pytest.approx(2.0, abs=0.1)
    tab.screenshot(path=str(SHOTS / "editor-audio.png"))
    assert axe(tab, "editor-audio") == []

    tab.click("[data-testid=node-trim] [data-testid=open-output]")
    tab.wait_for_selector("[data-testid=viewer] [data-testid=viewer-audio] audio")
    assert tab.locator("[data-testid=viewer] .waveform img").count() == 2
    tab.screenshot(path=str(SHOTS / "viewer-audio.png"))
    assert axe(tab, "viewer-audio") == []


def test_an_assembled_video_plays_in_the_viewer_at_its_size_and_length(tab, server, team,
                                                                       designer):
    from tests.graph.builders import edge, node

    _open(tab, server, team, designer, "Cut", [
        node("voice", "input:audio", {"url": _sound_url(team, 2.0)}),
        node("still", "generate:local_preview", {"prompt": "a lighthouse", "seed": 3,
                                                 "width": 256, "height": 256}),
        node("clip", "generate:image_to_video_local", {"duration": 2, "fps": 12}),
        node("cut", "compose:video", {"resolution": 480}),
    ], [edge("e1", "still", "image", "clip", "image"),
        edge("e2", "clip", "video", "cut", "clips"),
        edge("e3", "voice", "audio", "cut", "voice")], per_row=2, row_height=320)
    tab.wait_for_selector("[data-testid=save-state][data-state=saved]", timeout=15000)
    tab.click("[data-testid=run]")
    tab.wait_for_selector("[data-testid=node-cut][data-status=COMPLETED]", timeout=120000)
    # Its node previews the poster frame with a play mark, as every video does.
    tab.wait_for_selector("[data-testid=node-cut] .node-thumb img.node-preview + .node-play")
    tab.click("[data-testid=node-cut] [data-testid=open-output]")
    video = tab.locator("[data-testid=viewer] video[data-testid=viewer-video]")
    video.wait_for()
    size = tab.evaluate("""video => new Promise(done => {
        const report = () => done([video.videoWidth, video.videoHeight, video.duration]);
        if (video.readyState >= 1) report();
        else video.addEventListener('loadedmetadata', report, {once: true});
    })""", video.element_handle())
    assert size[:2] == [854, 480] and size[2] == pytest.approx(2.0, abs=0.15)
    tab.screenshot(path=str(SHOTS / "viewer-assembled-video.png"))
