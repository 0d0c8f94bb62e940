import { useBatch } from "./batch";
import { connectLive } from "./live";
import { useEditor } from "./store";
import { usePresence } from "./team/presence";
import { pollOf } from "./testPolls";

/** A stand-in socket the test drives: open, deliver events, drop. */
class FakeSocket {
  static all: FakeSocket[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((message: { data: string }) => void) | null = null;
  onclose: ((event: { code: number }) => void) | null = null;
  closed = false;
  constructor(public url: string) { FakeSocket.all.push(this); }
  open() { this.onopen?.(); }
  send(event: object) { this.onmessage?.({ data: JSON.stringify(event) }); }
  drop(code = 1006) { this.onclose?.({ code }); }
  close() { this.closed = true; }
}


describe("the live socket", () => {
  let stop: () => void;
  const polls: string[] = [];
  beforeEach(() => {
    vi.useFakeTimers();
    FakeSocket.all = [];
    polls.length = 0;
    useEditor.setState({ executionId: null, runStatus: null, runs: {}, viewingPast: false });
    vi.stubGlobal("fetch", async (url: string) => {
      polls.push(url);
      // The server has moved on past every event the test sends.
      const body = { ...pollOf("run-1", "COMPLETED", [["a", "COMPLETED"], ["b", "COMPLETED"]]),
                     seq: 20 };
      return { ok: true, status: 200, text: async () => JSON.stringify(body) };
    });
    stop = connectLive({ url: "ws://test/ws/workflows/w/",
                         socket: (url) => new FakeSocket(url) as unknown as WebSocket });
  });
  afterEach(() => {
    stop();
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it("keeps who else is here, and forgets them when the socket drops", () => {
    const socket = FakeSocket.all[0];
    socket.open();
    const ann = { userId: 2, name: "Ann Lee", initials: "AL", tabs: 1 };
    socket.send({ type: "presence", workflowId: "w", users: [ann] });
    expect(usePresence.getState().users).toEqual([ann]);
    socket.drop();
    expect(usePresence.getState().users).toEqual([]);
  });

  it("turns the editor read-only when the member's role changes to viewer", () => {
    useEditor.setState({ canEdit: true, canRun: true });
    const socket = FakeSocket.all[0];
    socket.open();
    socket.send({ type: "access.changed", role: "viewer", canEdit: false, canRun: false });
    expect(useEditor.getState()).toMatchObject({ canEdit: false, canRun: false });
    socket.send({ type: "access.changed", role: "editor", canEdit: true, canRun: true });
    expect(useEditor.getState()).toMatchObject({ canEdit: true, canRun: true });
  });

  it("applies the snapshot, then node and run events to the run's map", () => {
    const socket = FakeSocket.all[0];
    socket.open();
    expect(useEditor.getState().live).toBe("open");
    socket.send({ type: "snapshot", execution: pollOf("run-1", "RUNNING",
                                                      [["a", "RUNNING"], ["b", "PENDING"]]) });
    socket.send({ type: "node.status", executionId: "run-1", nodeId: "a", status: "COMPLETED",
                  progress: 1, error: null, seq: 10,
                  output: { images: [{ url: "/media/a.png", width: 8, height: 8 }], videos: [],
                            text: null } });
    socket.send({ type: "node.status", executionId: "run-1", nodeId: "b", status: "RUNNING",
                  progress: 0.5, error: null, output: null, seq: 11 });
    const { runs, runStatus } = useEditor.getState();
    expect(runStatus).toBe("RUNNING");
    expect(runs.a.status).toBe("COMPLETED");
    expect(runs.a.output?.images[0].url).toBe("/media/a.png");
    expect(runs.b).toMatchObject({ status: "RUNNING", progress: 0.5 });
    expect(polls).toEqual([]);  // no gap, no poll
  });

  it("applies a burst sent as one frame in order, as if each event had come alone", () => {
    const socket = FakeSocket.all[0];
    socket.open();
    socket.send({ type: "snapshot", execution: pollOf("run-1", "RUNNING",
                                                      [["a", "RUNNING"], ["b", "PENDING"]]) });
    socket.send({ type: "events", events: [
      { type: "node.status", executionId: "run-1", nodeId: "a", status: "COMPLETED",
        progress: 1, error: null, output: null, seq: 10 },
      { type: "node.status", executionId: "run-1", nodeId: "b", status: "RUNNING",
        progress: 0, error: null, output: null, seq: 11 },
      { type: "node.status", executionId: "run-1", nodeId: "b", status: "COMPLETED",
        progress: 1, error: null, output: null, seq: 12 },
      { type: "execution.status", executionId: "run-1", status: "COMPLETED", progress: 1,
        error: null, seq: 13 }] });
    const { runs, runStatus } = useEditor.getState();
    expect(runs.a.status).toBe("COMPLETED");
    expect(runs.b).toMatchObject({ status: "COMPLETED", progress: 1 });
    expect(runStatus).toBe("COMPLETED");
    expect(polls).toEqual([]);  // numbered 10–13 in order: no gap seen, no poll
  });

  it("follows a run started elsewhere and ignores stray events of other runs", () => {
    const socket = FakeSocket.all[0];
    socket.open();
    socket.send({ type: "node.status", executionId: "other", nodeId: "a", status: "RUNNING",
                  progress: 0, seq: 1 });
    expect(useEditor.getState().runs).toEqual({});
    socket.send({ type: "execution.status", executionId: "run-2", status: "RUNNING", seq: 1 });
    expect(useEditor.getState()).toMatchObject({ executionId: "run-2", runStatus: "RUNNING" });
  });

  it("leaves a past run on the canvas, and a batch's runs to the Batch tab", () => {
    const socket = FakeSocket.all[0];
    socket.open();
    useBatch.getState().set({ batchId: "b", error: null, items: [
      { index: 0, label: "x", executionId: "batch-run", status: "QUEUED", error: null,
        thumb: null }] });
    socket.send({ type: "execution.status", executionId: "batch-run", status: "RUNNING", seq: 1 });
    expect(useEditor.getState().executionId).toBeNull();
    useEditor.getState().startRun("old", { past: true });
    socket.send({ type: "execution.status", executionId: "run-3", status: "RUNNING", seq: 1 });
    expect(useEditor.getState()).toMatchObject({ executionId: "old", viewingPast: true });
    useBatch.getState().set({ batchId: null, items: [] });
  });

  it("stops reconnecting when the server withdraws access (4403)", () => {
    const socket = FakeSocket.all[0];
    socket.open();
    socket.drop(4403);
    expect(useEditor.getState().live).toBe("forbidden");
    vi.advanceTimersByTime(60_000);
    expect(FakeSocket.all).toHaveLength(1);
    expect(polls).toEqual([]);
  });

  it("ignores a message type it does not know, even one that skips numbers", () => {
    const socket = FakeSocket.all[0];
    socket.open();
    socket.send({ type: "snapshot", execution: pollOf("run-1", "RUNNING", [["a", "RUNNING"]]) });
    const before = useEditor.getState();
    socket.send({ type: "node.paused", executionId: "run-1", nodeId: "a", seq: 30 });
    expect(useEditor.getState()).toBe(before);
    expect(polls).toEqual([]);
  });

  it("re-reads the run from the poll endpoint when events were missed", async () => {
    const socket = FakeSocket.all[0];
    socket.open();
    socket.send({ type: "snapshot", execution: pollOf("run-1", "RUNNING", [["a", "RUNNING"]]) });
    socket.send({ type: "node.status", executionId: "run-1", nodeId: "a", status: "RUNNING",
                  progress: 0.2, seq: 13 });  // 10–12 never arrived
    await vi.waitFor(() => expect(polls).toEqual(["/api/v1/workflows/executions/run-1/poll"]));
    await vi.waitFor(() => expect(useEditor.getState().runs.b?.status).toBe("COMPLETED"));
  });

  it("reconnects with growing delays after a drop and re-syncs from the poll", async () => {
    FakeSocket.all[0].open();
    FakeSocket.all[0].send({ type: "snapshot",
                             execution: pollOf("run-1", "RUNNING", [["a", "RUNNING"]]) });
    FakeSocket.all[0].drop();
    expect(useEditor.getState().live).toBe("reconnecting");
    vi.advanceTimersByTime(499);
    expect(FakeSocket.all).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(FakeSocket.all).toHaveLength(2);
    await vi.waitFor(() => expect(useEditor.getState().runStatus).toBe("COMPLETED"));
    expect(polls).toHaveLength(1);
    FakeSocket.all[1].drop();  // still down: the next try waits twice as long
    vi.advanceTimersByTime(999);
    expect(FakeSocket.all).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(FakeSocket.all).toHaveLength(3);
    FakeSocket.all[2].open();
    expect(useEditor.getState().live).toBe("open");
  });

  it("stops for good when the editor closes", () => {
    stop();
    expect(FakeSocket.all[0].closed).toBe(true);
    FakeSocket.all[0].drop();
    vi.advanceTimersByTime(20_000);
    expect(FakeSocket.all).toHaveLength(1);
  });
});
