import { teamMenu } from "./menu";

const teams = [
  { id: 1, name: "Agency", slug: "agency", plan: "pro", role: "owner" },
  { id: 2, name: "Side", slug: "side", plan: "free", role: "viewer" },
];

describe("the editor's team menu", () => {
  it("names the workflow's team and the role there, with its pages", () => {
    const menu = teamMenu(teams, 1, "wf-1")!;
    expect(menu.title).toBe("Agency");
    expect(menu.role).toBe("owner");
    expect(menu.links.map((l) => l.href)).toEqual([
      "/workflows/wf-1/history", "/team?team=1", "/team/keys?team=1", "/team/usage?team=1",
      "/team/activity?team=1&workflow=wf-1"]);
    expect(menu.others).toEqual([{ label: "Side", href: "/team?team=2", note: "viewer" }]);
  });
  it("offers nothing for a team the user is not in", () => {
    expect(teamMenu(teams, 3, "wf-1")).toBeNull();
  });
});
