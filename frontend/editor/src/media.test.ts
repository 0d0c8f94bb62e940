import { outputItems, seconds } from "./components/Viewer";

describe("a run's outputs as the viewer and the nodes show them", () => {
  it("lists sounds after images and videos, with their waveform as the thumbnail", () => {
    const items = outputItems({
      images: [{ url: "/media/a.png", width: 8, height: 8, thumbnailUrl: "/media/a.webp" }],
      videos: [{ url: "/media/b.mp4", duration: 4.5, posterUrl: "/media/b.webp" }],
      audios: [{ url: "/media/c.m4a", duration: 83.4, waveformUrl: "/media/c.webp" }],
      text: null,
    }, "Cut", "cut");
    expect(items.map((item) => item.kind)).toEqual(["image", "video", "audio"]);
    expect(items[2]).toMatchObject({ url: "/media/c.m4a", thumb: "/media/c.webp",
                                     duration: 83.4, title: "Cut (3)", nodeId: "cut" });
  });

  it("reads an older server's output, which has no audios", () => {
    const items = outputItems({ images: [], videos: [], text: "hi" }, "Text");
    expect(items).toEqual([]);
  });

  it("writes a length as minutes and seconds", () => {
    expect(seconds(83.4)).toBe("1:23");
    expect(seconds(4.5)).toBe("0:05");
  });
});
